"""The periodic jobs a server process runs beside its requests (purges), and how they stop.

A job runs at start and then once every interval until the process is told to stop; a stop ends
the wait between runs at once but never interrupts a run, so that a shutdown awaits the batch in
hand instead of abandoning it. A failed run is logged and the next one catches up. Several
processes running the same job at once is harmless for every job here.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

log = structlog.get_logger()


async def wait_or_stop(stop: asyncio.Event, interval: timedelta) -> None:
    """Rest ``interval``, or less if ``stop`` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), interval.total_seconds())


async def periodically(
    name: str, job: Callable[[], Awaitable[object]], every: timedelta, stop: asyncio.Event
) -> None:
    while not stop.is_set():
        try:
            await job()
        except Exception:  # a failed run must not end the loop; the next one catches up
            log.exception("periodic job failed", job=name)
        await wait_or_stop(stop, every)


async def finish(tasks: list[asyncio.Task[None]], grace: timedelta) -> None:
    """Await stopped tasks for up to ``grace``; cancel those still running then."""
    if not tasks:
        return
    _done, late = await asyncio.wait(tasks, timeout=grace.total_seconds())
    for task in late:
        log.warning("background task still running after the grace period: cancelled")
        task.cancel()
    await asyncio.gather(*late, return_exceptions=True)
