from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import pytest

from openbenefits.config import Settings
from openbenefits.kit.clock import FixedClock
from openbenefits.kit.db import Database
from openbenefits.webhooks import worker
from tests.chain import Chain
from tests.webhooks.receiver import Receiver, running_receiver
from tests.webhooks.subscriptions import subscribe

Deliver = Callable[[], Awaitable[int]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as running:
        yield running


@pytest.fixture
def deliver(db: Database, clock: FixedClock, settings: Settings) -> Deliver:
    """One pass of the worker (how many deliveries it attempted), allowed the networks the
    settings allow: the suite's allow the receiver's loopback."""
    return partial(
        worker.deliver_due, db, clock, settings.keyring, settings.webhook_allowed_networks
    )


@pytest.fixture
async def subscription(chain: Chain, receiver: Receiver) -> dict[str, Any]:
    return await subscribe(chain, receiver.url, chain.studio_a)
