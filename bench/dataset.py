"""The benefit dataset: customers with a main contract under the demo rate and two benefits that
the rate grants: ``BENCH`` with one limit (a year's), this year's counter per contract and a
ledger of past uses; ``BENCH_STACKED`` with two stacked limits (a day's and a month's) and a time
window open every day all day, today's and this month's counter per contract and a ledger of
this month's uses.

Loaded straight into the tables with set-based SQL (``INSERT ... SELECT`` over a number series:
``generate_series`` on PostgreSQL, a recursive CTE on SQLite), so a million customers and ten
million ledger rows take minutes, not hours. Rows get explicit ids from fixed offsets, so the
counters and the ledger can point at customers and contracts by arithmetic instead of joins.
"""

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from openbenefits.demo import ZONE
from openbenefits.kit.db import Database
from openbenefits.kit.periods import Period, PeriodUnit, calendar_period

BENEFIT_KEY = "BENCH"
STACKED_KEY = "BENCH_STACKED"
# Never reached, so every use in a benchmark is admitted.
USES_LIMIT = 1_000_000_000
# The stacked grant's limits, shortest first (the order a use takes them in).
STACKED_PERIODS = (PeriodUnit.DAY, PeriodUnit.MONTH)
# Every day, all day (an end of 00:00 is the day's end): evaluated on every request, always open.
ALWAYS = [
    {
        "days": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"],
        "start": "00:00:00",
        "end": "00:00:00",
    }
]
# Tables whose ids the dataset assigns itself.
ID_TABLES = ("customers", "main_contracts", "benefit_counters")


@dataclass(frozen=True)
class Dataset:
    """What the load generator and the naive app need to address the loaded rows."""

    tenant_id: int
    studio_id: int
    benefit_id: int
    grant_id: int
    stacked_benefit_id: int
    stacked_grant_id: int
    api_key_id: int
    first_customer_id: int
    customers: int
    usages: int
    stacked_usages: int
    seconds: float

    @property
    def last_customer_id(self) -> int:
        return self.first_customer_id + self.customers - 1


class Dialect:
    """The few SQL fragments that differ between PostgreSQL and SQLite."""

    def __init__(self, postgres: bool) -> None:
        self.postgres = postgres

    def series(self, count: int) -> str:
        """Rows ``seq(n)`` for n in 0 .. count - 1 (bigint, so products of n do not overflow)."""
        if self.postgres:
            return f"generate_series(0::bigint, {count - 1}) AS seq(n)"
        return (
            "(WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s "
            f"WHERE n < {count - 1}) SELECT n FROM s) AS seq"
        )

    def instant(self, value: datetime) -> str:
        """An instant as UTCDateTime stores it: timestamptz, or SQLAlchemy's text on SQLite."""
        utc = value.astimezone(UTC)
        if self.postgres:
            return f"TIMESTAMPTZ '{utc.isoformat()}'"
        return f"'{utc.strftime('%Y-%m-%d %H:%M:%S.%f')}'"

    def epoch_instant(self, seconds: str) -> str:
        if self.postgres:
            return f"to_timestamp({seconds})"
        return f"strftime('%Y-%m-%d %H:%M:%S', {seconds}, 'unixepoch') || '.000000'"

    def padded(self, number: str, width: int) -> str:
        if self.postgres:
            return f"lpad(({number})::text, {width}, '0')"
        return f"printf('%0{width}d', {number})"


async def scalar(connection: AsyncConnection, sql: str) -> Any:
    return (await connection.exec_driver_sql(sql)).scalar_one()


async def load_dataset(
    database_url: str, demo: dict[str, Any], customers: int, usages: int
) -> Dataset:
    """Load the dataset into the database where ``openbenefits demo`` created its tenant."""
    started = time.monotonic()
    db = Database(database_url)
    sql = Dialect(postgres=not db.is_sqlite)
    now = datetime.now(UTC)
    zone = ZoneInfo(ZONE)
    year = calendar_period(PeriodUnit.YEAR, now, zone)
    stacked_periods = {unit: calendar_period(unit, now, zone) for unit in STACKED_PERIODS}
    month = stacked_periods[PeriodUnit.MONTH]
    tenant_id = demo["tenantId"]
    studio_id = demo["studios"]["Studio A"]
    integration_id = demo["partnerIntegrations"]["Sauna App @ Studio A"]
    async with db.engine.begin() as c:
        if sql.postgres:
            # The rows are consistent by construction: skip the per-row foreign-key triggers,
            # which make the ten-million-row load five times slower (needs a superuser, as
            # the default postgres user is).
            await c.exec_driver_sql("SET LOCAL session_replication_role = replica")
        partner_id = await scalar(
            c, f"SELECT partner_id FROM partner_integrations WHERE id = {integration_id}"
        )
        api_key_id = await scalar(
            c, f"SELECT id FROM api_keys WHERE partner_integration_id = {integration_id}"
        )
        rate_id = await scalar(
            c, f"SELECT id FROM rates WHERE tenant_id = {tenant_id} AND name = 'Premium 12'"
        )
        frequency_id = await scalar(
            c, f"SELECT id FROM rate_payment_frequencies WHERE rate_id = {rate_id}"
        )
        # Granted the day before the year began, so the grants stand over the whole ledger.
        granted_at = sql.instant(year.starts_at - timedelta(days=1))

        async def granted_benefit(
            key: str, name: str, limits: tuple[str, ...], windows: str
        ) -> tuple[int, int]:
            """A benefit of the partner, granted by the rate within ``limits`` (periods, each
            of ``USES_LIMIT`` uses) at ``windows`` (SQL: the JSON text, or NULL)."""
            benefit = await scalar(
                c,
                "INSERT INTO benefits (tenant_id, partner_id, key, name, cross_facility) "
                f"VALUES ({tenant_id}, {partner_id}, '{key}', '{name}', TRUE) RETURNING id",
            )
            grant = await scalar(
                c,
                "INSERT INTO benefit_grants (tenant_id, benefit_id, rate_id, module_id, "
                f"time_windows, created_at) VALUES ({tenant_id}, {benefit}, {rate_id}, NULL, "
                f"{windows}, {granted_at}) RETURNING id",
            )
            for period in limits:
                await c.exec_driver_sql(
                    "INSERT INTO benefit_grant_limits (grant_id, period, uses) "
                    f"VALUES ({grant}, '{period}', {USES_LIMIT})"
                )
            return benefit, grant

        benefit_id, grant_id = await granted_benefit(BENEFIT_KEY, "Bench sauna", ("YEAR",), "NULL")
        stacked_benefit_id, stacked_grant_id = await granted_benefit(
            STACKED_KEY,
            "Bench sauna, stacked",
            tuple(unit.value for unit in STACKED_PERIODS),
            f"'{json.dumps(ALWAYS)}'",
        )
        customer0, contract0, counter0 = [
            await scalar(c, f"SELECT coalesce(max(id), 0) + 1 FROM {table}") for table in ID_TABLES
        ]
        await c.exec_driver_sql(
            "INSERT INTO customers (id, tenant_id, studio_id, customer_number, uuid, status, "
            "first_name, last_name, first_name_key, last_name_key, email, email_key) "
            f"SELECT {customer0} + n, {tenant_id}, {studio_id}, 'BENCH-' || n, "
            f"'00000000-0000-4000-8000-' || {sql.padded('n', 12)}, 'MEMBER', "
            "'Bench', 'Customer ' || n, 'bench', 'customer ' || n, "
            "'bench' || n || '@example.org', 'bench' || n || '@example.org' "
            f"FROM {sql.series(customers)}"
        )
        # Terms copied from the rate, as signing a contract does; running since January 1st,
        # so the contract is in its first term all year.
        start = f"'{year.start.isoformat()}'"
        await c.exec_driver_sql(
            "INSERT INTO main_contracts (id, tenant_id, customer_id, studio_id, rate_id, "
            "rate_name, payment_frequency_id, created_date, start_date, term_value, term_unit, "
            "extension_term_value, extension_term_unit, cancellation_period_value, "
            "cancellation_period_unit, base_price, current_price, currency) "
            f"SELECT {contract0} + n, {tenant_id}, {customer0} + n, {studio_id}, r.id, r.name, "
            f"f.id, {start}, {start}, r.term_value, r.term_unit, r.extension_term_value, "
            "r.extension_term_unit, r.cancellation_period_value, r.cancellation_period_unit, "
            f"f.price, f.price, f.currency FROM {sql.series(customers)} "
            f"CROSS JOIN rates r JOIN rate_payment_frequencies f ON f.id = {frequency_id} "
            f"WHERE r.id = {rate_id}"
        )

        async def counters(first_id: int, grant: int, unit: str, period: Period, used: str) -> None:
            """One counter per contract, ``used`` an expression of the customer's index n."""
            await c.exec_driver_sql(
                "INSERT INTO benefit_counters (id, tenant_id, grant_id, contract_id, customer_id, "
                "period, period_start, period_end, uses_limit, used) "
                f"SELECT {first_id} + n, {tenant_id}, {grant}, {contract0} + n, {customer0} + n, "
                f"'{unit}', {sql.instant(period.starts_at)}, {sql.instant(period.ends_at)}, "
                f"{USES_LIMIT}, {used} FROM {sql.series(customers)}"
            )

        async def ledger(benefit: int, key: str, grant: int, count: int, period: Period) -> None:
            """``count`` uses in time order, spread evenly from the start of ``period`` (of the
            grant's shortest limit, which the ledger names) until its end or now. Use g
            belongs to customer g % customers."""
            first = int(period.starts_at.timestamp())
            span = int(min(period.ends_at, now).timestamp()) - first
            await c.exec_driver_sql(
                "INSERT INTO benefit_usages (tenant_id, customer_id, benefit_id, benefit_key, "
                "grant_id, contract_id, period_start, period_end, studio_id, api_key_id, "
                "channel, used_at, idempotency_key) "
                f"SELECT {tenant_id}, {customer0} + n % {customers}, {benefit}, '{key}', "
                f"{grant}, {contract0} + n % {customers}, {sql.instant(period.starts_at)}, "
                f"{sql.instant(period.ends_at)}, {studio_id}, {api_key_id}, 'USE', "
                f"{sql.epoch_instant(f'{first} + n * {span} / {count}')}, NULL "
                f"FROM {sql.series(count)}"
            )

        def shares(count: int) -> str:
            """Customer n's number of ``count`` uses dealt out one per customer in turn."""
            base, extra = divmod(count, customers)
            return f"{base} + CASE WHEN n < {extra} THEN 1 ELSE 0 END"

        # BENCH: the ledger spread over the year so far, counted in this year's counters
        # (customer n has used it usages // customers times, once more when n is below the
        # remainder).
        await counters(counter0, grant_id, "YEAR", year, shares(usages))
        if usages:
            await ledger(benefit_id, BENEFIT_KEY, grant_id, usages, year)
        # BENCH_STACKED: a tenth as many uses, the same number on each day of the month so far,
        # each counted in its day (the shortest limit's period); today's and this month's
        # counters hold them.
        days = (stacked_periods[PeriodUnit.DAY].start - month.start).days + 1
        per_day = usages // 10 // days
        for index, unit in enumerate(STACKED_PERIODS):
            used = f"({shares(per_day)}) * {days if unit is PeriodUnit.MONTH else 1}"
            first_id = counter0 + (index + 1) * customers
            await counters(first_id, stacked_grant_id, unit.value, stacked_periods[unit], used)
        if per_day:
            for offset in range(days):
                day = Period(
                    month.start + timedelta(days=offset),
                    month.start + timedelta(days=offset + 1),
                    zone,
                )
                await ledger(stacked_benefit_id, STACKED_KEY, stacked_grant_id, per_day, day)
        if sql.postgres:
            # The app's own inserts must continue after the explicit ids.
            for table in ID_TABLES:
                await c.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    if sql.postgres:
        # As autovacuum would have left the tables in service: statistics and visibility map.
        async with db.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as c:
            await c.exec_driver_sql("VACUUM (ANALYZE)")
            # Write the loaded pages out now, not during the measurements.
            await c.exec_driver_sql("CHECKPOINT")
    await db.dispose()
    return Dataset(
        tenant_id=tenant_id,
        studio_id=studio_id,
        benefit_id=benefit_id,
        grant_id=grant_id,
        stacked_benefit_id=stacked_benefit_id,
        stacked_grant_id=stacked_grant_id,
        api_key_id=api_key_id,
        first_customer_id=customer0,
        customers=customers,
        usages=usages,
        stacked_usages=per_day * days,
        seconds=time.monotonic() - started,
    )
