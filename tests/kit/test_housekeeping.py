"""Periodic jobs (kit/housekeeping.py): they run at once and then every interval, survive their
failures, and a stop ends the wait between runs at once but lets a run in hand finish."""

import asyncio
from datetime import timedelta

from openbenefits.kit.housekeeping import finish, periodically

QUICK = timedelta(milliseconds=20)
LONG = timedelta(hours=1)


async def test_a_job_runs_at_once_then_every_interval_and_outlives_its_failures():
    runs: list[int] = []
    four = asyncio.Event()

    async def job() -> None:
        runs.append(len(runs))
        if len(runs) == 2:
            raise RuntimeError("this run fails; the next one goes on")
        if len(runs) == 4:
            four.set()

    stop = asyncio.Event()
    task = asyncio.create_task(periodically("test", job, QUICK, stop))
    await asyncio.wait_for(four.wait(), 5)
    stop.set()
    await asyncio.wait_for(task, 1)
    assert runs[:4] == [0, 1, 2, 3]


async def test_a_stop_ends_the_wait_between_runs_at_once():
    ran = asyncio.Event()

    async def job() -> None:
        ran.set()

    stop = asyncio.Event()
    task = asyncio.create_task(periodically("test", job, LONG, stop))
    await ran.wait()
    stop.set()
    await asyncio.wait_for(task, 1)  # not an hour


async def test_a_stop_lets_the_run_in_hand_finish():
    started, release = asyncio.Event(), asyncio.Event()
    finished: list[bool] = []

    async def job() -> None:
        started.set()
        await release.wait()
        finished.append(True)

    stop = asyncio.Event()
    task = asyncio.create_task(periodically("test", job, LONG, stop))
    await started.wait()
    stop.set()
    asyncio.get_running_loop().call_later(0.05, release.set)
    await finish([task], timedelta(seconds=5))
    assert finished == [True]


async def test_a_task_still_running_after_the_grace_period_is_cancelled():
    async def stubborn() -> None:
        await asyncio.sleep(3600)

    task = asyncio.create_task(stubborn())
    await asyncio.wait_for(finish([task], QUICK), 1)
    assert task.cancelled()
