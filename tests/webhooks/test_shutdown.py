"""Clean shutdown of webhook delivery: a stop lets the delivery in hand be sent and recorded,
in the server's lifespan and in `openbenefits worker` (a real process, sent SIGTERM)."""

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from openbenefits.kit.db import Database
from openbenefits.webhooks.models import DeliveryState, WebhookAttempt, WebhookDelivery
from tests.chain import Chain
from tests.conftest import SECRET
from tests.webhooks.receiver import Receiver

# Long enough that the stop surely comes while the receiver is still answering.
ANSWER_SECONDS = 1.5


async def _the_delivery(db: Database) -> tuple[DeliveryState, int]:
    async with db.session() as session:
        delivery = (await session.scalars(select(WebhookDelivery))).one()
        attempts = (await session.scalars(select(WebhookAttempt))).all()
        return delivery.state, len(attempts)


@pytest.mark.usefixtures("subscription")
async def test_the_servers_lifespan_finishes_the_delivery_in_hand(
    app: FastAPI, chain: Chain, receiver: Receiver, db: Database
) -> None:
    await chain.customer()
    receiver.delay = ANSWER_SECONDS

    async with app.router.lifespan_context(app):
        await asyncio.wait_for(receiver.arrived.wait(), 30)

    assert await _the_delivery(db) == (DeliveryState.DELIVERED, 1)
    assert len(receiver.requests) == 1


@pytest.mark.usefixtures("subscription")
async def test_the_worker_finishes_the_delivery_in_hand_on_sigterm_and_exits_0(
    chain: Chain,
    receiver: Receiver,
    db: Database,
    database_url: str,
    tmp_path: Path,
    collector: list[tuple[str, str, bytes]],
) -> None:
    """...and, traced (the environment names an OTLP endpoint), exports the delivery's span
    before it exits."""
    await chain.customer()
    receiver.delay = ANSWER_SECONDS
    env: dict[str, Any] = {
        **os.environ,
        "OPENBENEFITS_DATABASE_URL": database_url,
        "OPENBENEFITS_SECRET_KEY": SECRET,
        "OPENBENEFITS_DATA_DIR": str(tmp_path),
        "OPENBENEFITS_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
    }
    worker = await asyncio.create_subprocess_exec(
        Path(sys.executable).parent / "openbenefits", "worker", env=env
    )
    try:
        await asyncio.wait_for(receiver.arrived.wait(), 60)
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 30) == 0
    finally:
        if worker.returncode is None:
            worker.kill()
            await worker.wait()

    assert await _the_delivery(db) == (DeliveryState.DELIVERED, 1)
    assert len(receiver.requests) == 1
    assert any(b"webhook delivery" in body for path, _, body in collector if path == "/v1/traces")
