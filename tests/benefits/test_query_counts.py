"""The hot paths run a fixed number of statements, however long the usage history grows."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import event

from tests.benefits.conftest import Scene


@contextmanager
def statements(db) -> Iterator[list[str]]:
    seen: list[str] = []
    engines = [db.engine.sync_engine, db.read_engine.sync_engine]

    def record(_conn, _cursor, statement, *_args) -> None:
        if not statement.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
            seen.append(statement)

    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)


async def test_check_and_use_do_not_grow_with_the_history(scene: Scene, db):
    await scene.grant(
        scene.sauna, rateId=scene.rate["id"], contingent={"uses": 50, "period": "DAY"}
    )
    assert (await scene.use("SAUNA")).status_code == 200  # the key is known from here on
    counts = []
    for _ in range(2):
        with statements(db) as checked:
            assert await scene.check("SAUNA") == {"SAUNA": True}
        with statements(db) as used:
            assert (await scene.use("SAUNA")).status_code == 200
        counts.append((len(checked), len(used)))
        for _ in range(10):
            assert (await scene.use("SAUNA")).status_code == 200
    # One read for the check; the use adds the counter, the ledger row and the event.
    assert counts == [(1, 4), (1, 4)]
