"""One budget bounds every PostgreSQL connection a process opens (kit/db.connection_budget)."""

import asyncio

import pytest
from sqlalchemy import text

from openbenefits.kit.db import Database, connection_budget


@pytest.mark.parametrize("connections", range(3, 41))
def test_the_budget_shares_out_every_connection(connections: int) -> None:
    budget = connection_budget(connections)
    assert budget.writes + budget.reads + budget.fast_path == connections
    assert budget.writes == budget.reads == max(1, connections // 6)
    assert budget.fast_path >= max(budget.writes, budget.reads)


def test_fewer_connections_than_pools_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 3"):
        connection_budget(2)


async def test_under_load_a_process_opens_no_more_than_its_budget(database_url: str) -> None:
    """Sixty requests at once, a third of them on each pool, each holding its connection a
    while: every connection the process opened (each backend seen) fits the budget, and each
    pool used all of its share."""
    if database_url.startswith("sqlite"):
        pytest.skip("the budget bounds PostgreSQL connections")
    db = Database(database_url, connections=8)
    budget = connection_budget(8)
    seen: dict[str, set[int]] = {"writes": set(), "reads": set(), "fast_path": set()}
    pause = "SELECT pg_backend_pid() FROM pg_sleep(0.05)"

    async def on_session(write: bool) -> None:
        async with db.session(write=write) as session:
            pid = (await session.execute(text(pause))).scalar_one()
        seen["writes" if write else "reads"].add(pid)

    async def on_driver() -> None:
        async with db.driver_connection() as connection:
            seen["fast_path"].add(await connection.fetchval(pause))

    try:
        await asyncio.gather(
            *(on_session(True) for _ in range(20)),
            *(on_session(False) for _ in range(20)),
            *(on_driver() for _ in range(20)),
        )
    finally:
        await db.dispose()
    assert {pool: len(pids) for pool, pids in seen.items()} == {
        "writes": budget.writes,
        "reads": budget.reads,
        "fast_path": budget.fast_path,
    }
    assert len(set().union(*seen.values())) == 8
