"""The hot paths run a fixed number of statements, however long the usage history grows."""

from openbenefits.kit.db import Database
from tests.benefits.conftest import Scene
from tests.benefits.statements import statements


async def test_check_and_use_do_not_grow_with_the_history(scene: Scene, db: Database):
    await scene.grant(
        scene.sauna, rateId=scene.rate["id"], contingent={"uses": 50, "period": "DAY"}
    )
    assert (await scene.use("SAUNA")).status_code == 200  # the key is known from here on
    counts = []
    for _ in range(2):
        async with statements(db) as checked:
            assert await scene.check("SAUNA") == {"SAUNA": True}
        async with statements(db) as used:
            assert (await scene.use("SAUNA")).status_code == 200
        counts.append((checked.count, used.count))
        for _ in range(10):
            assert (await scene.use("SAUNA")).status_code == 200
    # One read for the check. The use adds one statement on PostgreSQL (counter, ledger row
    # and event in one); SQLite has no data-modifying CTEs, so it writes them one by one.
    expected = (1, 4) if db.is_sqlite else (1, 2)
    assert counts == [expected, expected]


async def test_stacked_limits_and_time_windows_add_no_round_trip_on_postgresql(
    scene: Scene, db: Database
):
    await scene.grant(
        scene.sauna,
        rateId=scene.rate["id"],
        contingents=[{"uses": 50, "period": "DAY"}, {"uses": 500, "period": "MONTH"}],
        timeWindows=[{"days": ["SUNDAY"], "start": "00:00", "end": "00:00"}],
    )
    assert (await scene.use("SAUNA")).status_code == 200
    async with statements(db) as checked:
        assert await scene.check("SAUNA") == {"SAUNA": True}
    async with statements(db) as used:
        assert (await scene.use("SAUNA")).status_code == 200
    # SQLite: the standing, a take per limit under a savepoint, the ledger row, its event.
    assert (checked.count, used.count) == ((1, 7) if db.is_sqlite else (1, 2))
