"""The loyalty dataset and the hot gift card (seed 003's hot paths in run.py).

The dataset: ``contracts`` customers of the demo organisation, each the holder of one contract
on the demo customer card (TIMED), loaded with set-based SQL like dataset.py. Customer numbers
start at ``FIRST_NUMBER`` and each contract's uuid ends in its holder's number, so the load
generator can name a matching (contract, customer) pair from one random number.

The gift cards: withdrawals of 1.00 from the demo gift card topped up far beyond what a run can
spend (throughput), then from a fresh card holding exactly ``DRAIN_POINTS`` (a race for the last
points), each checked afterwards against its ledger.
"""

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
from dataset import Dialect, scalar
from sqlalchemy import text

from openbenefits.kit.db import Database

PREFIX = "/customers/v2/benefits"
# Below 2^31, so the load generator's random numbers (doubles in LuaJIT) stay exact.
FIRST_NUMBER = 800_000_000
UUID_PREFIX = "00000000-0000-4000-9000-"
TOP_UP = Decimal("1000000000.00")
DRAIN_POINTS = 1000
WITHDRAWAL = (
    '{"transactionType":"WITHDRAWAL","pointsType":"NOK","amount":1.00,'
    '"externalRef":"bench-{run}-{seq}"}'
)
# One (contract, customer) pair of validate-consumptions; report.lua fills in a random number.
PAIR = f'{{"contractUUID":"{UUID_PREFIX}{{id12}}","customerNumber":{{id}}}}'
VALIDATE_PAIRS = 10


@dataclass(frozen=True)
class LoyaltyDataset:
    contracts: int
    seconds: float

    @property
    def numbers(self) -> tuple[int, int]:
        return FIRST_NUMBER, FIRST_NUMBER + self.contracts - 1


async def load_loyalty(database_url: str, demo: dict[str, Any], contracts: int) -> LoyaltyDataset:
    """Load the customers, their contracts and holder rows into the demo organisation."""
    started = time.monotonic()
    db = Database(database_url)
    sql = Dialect(postgres=not db.is_sqlite)
    tenant_id = demo["tenantId"]
    studio_id = demo["studios"]["Studio A"]
    card_uuid = demo["loyaltyContracts"]["DEMO-CUSTOMER-CARD"]
    now = datetime.now(UTC)
    valid_from, created = sql.instant(now - timedelta(days=30)), sql.instant(now)
    valid_to = sql.instant(now + timedelta(days=335))
    async with db.engine.begin() as c:
        if sql.postgres:
            await c.exec_driver_sql("SET LOCAL session_replication_role = replica")
        program_id, version_id = (
            await c.execute(
                text(
                    "SELECT program_id, program_version_id FROM loyalty_contracts "
                    "WHERE uuid = :uuid"
                ),
                {"uuid": card_uuid},
            )
        ).one()
        customer0, contract0 = [
            await scalar(c, f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
            for table in ("customers", "loyalty_contracts")
        ]
        number = f"{FIRST_NUMBER} + n"
        # Birthdays spread over 80 years, so every age band occurs.
        birth = date(1940, 1, 1).toordinal()
        birth_date = (
            f"DATE '0001-01-01' + ({birth - 1} + n % 29220)::int"
            if sql.postgres
            else f"date({birth} + n % 29220 + 1721424.5)"
        )
        await c.exec_driver_sql(
            "INSERT INTO customers (id, tenant_id, studio_id, customer_number, uuid, status, "
            "first_name, last_name, first_name_key, last_name_key, date_of_birth) "
            f"SELECT {customer0} + n, {tenant_id}, {studio_id}, {number}, "
            f"'00000000-0000-4000-a000-' || {sql.padded('n', 12)}, 'MEMBER', "
            f"'Traveller', 'Number ' || n, 'traveller', 'number ' || n, {birth_date} "
            f"FROM {sql.series(contracts)}"
        )
        await c.exec_driver_sql(
            "INSERT INTO loyalty_contracts (id, uuid, tenant_id, program_id, program_version_id, "
            "consumable_from, expiration_date, coupons_used, points_balance, created_at, "
            "created_by, last_changed_at, last_changed_by) "
            f"SELECT {contract0} + n, '{UUID_PREFIX}' || {sql.padded(number, 12)}, {tenant_id}, "
            f"{program_id}, {version_id}, {valid_from}, {valid_to}, 0, 0, {created}, 'bench', "
            f"{created}, 'bench' FROM {sql.series(contracts)}"
        )
        await c.exec_driver_sql(
            "INSERT INTO loyalty_contract_consumers (contract_id, customer_organisation_id, "
            "customer_id, is_contract_holder, is_blocked, created_at, created_by, "
            "last_changed_at, last_changed_by) "
            f"SELECT {contract0} + n, {tenant_id}, {customer0} + n, TRUE, FALSE, {created}, "
            f"'bench', {created}, 'bench' FROM {sql.series(contracts)}"
        )
        if sql.postgres:
            for table in ("customers", "loyalty_contracts"):
                await c.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
    if sql.postgres:
        # Statistics, as autovacuum would have them in service.
        async with db.engine.execution_options(isolation_level="AUTOCOMMIT").connect() as c:
            await c.exec_driver_sql(
                "VACUUM (ANALYZE) customers, loyalty_contracts, loyalty_contract_consumers"
            )
            # Write the loaded pages out now, not during the measurements.
            await c.exec_driver_sql("CHECKPOINT")
    await db.dispose()
    return LoyaltyDataset(contracts, time.monotonic() - started)


def validate_body() -> str:
    return '{"consumptions":[' + ",".join(["{pair}"] * VALIDATE_PAIRS) + "]}"


@dataclass(frozen=True)
class GiftCards:
    """The bearer header, the demo gift card (topped up) and a card holding ``DRAIN_POINTS``."""

    authorization: str
    hot_uuid: str
    drain_uuid: str


def prepare_gift_cards(base: str, demo: dict[str, Any]) -> GiftCards:
    """A token, a top-up of the demo gift card, and a second card on its program, through the
    API as a client would."""
    client = demo["oauthClient"]
    token = httpx.post(
        f"{base}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client["clientId"],
            "client_secret": client["clientSecret"],
        },
    ).json()["access_token"]
    with httpx.Client(
        base_url=f"{base}{PREFIX}", headers={"Authorization": f"Bearer {token}"}
    ) as api:
        hot_uuid = demo["loyaltyContracts"]["DEMO-GIFT-CARD"]
        program_id = api.get(f"/contracts/{hot_uuid}").json()["loyaltyProgramId"]
        drain = api.post(
            f"/loyaltyprograms/{program_id}/contracts",
            json={
                "consumableFrom": datetime.now(UTC).isoformat(),
                "customerNumber": demo["loyaltyCustomerNumber"],
                "externalRef": "BENCH-DRAIN-CARD",
            },
        )
        drain.raise_for_status()
        drain_uuid = drain.json()["uuid"]
        for uuid, amount in ((hot_uuid, TOP_UP), (drain_uuid, Decimal(DRAIN_POINTS))):
            api.post(
                f"/contracts/{uuid}/points-transactions",
                json={
                    "transactionType": "DEPOSIT",
                    "pointsType": "NOK",
                    "amount": str(amount),
                    "externalRef": "bench-deposit",
                },
            ).raise_for_status()
    return GiftCards(f"Authorization: Bearer {token}", hot_uuid, drain_uuid)


@dataclass(frozen=True)
class Ledger:
    balance: Decimal
    ledger_sum: Decimal
    lowest_balance_after: Decimal
    withdrawals: int

    @property
    def consistent(self) -> bool:
        return self.balance == self.ledger_sum and self.lowest_balance_after >= 0


async def read_ledger(database_url: str, uuid: str) -> Ledger:
    """The card's balance beside its ledger: deposits and refunds in, withdrawals out."""
    db = Database(database_url)
    async with db.engine.connect() as c:
        row = (
            await c.execute(
                text(
                    "SELECT c.points_balance, "
                    "coalesce(sum(CASE WHEN t.transaction_type = 'WITHDRAWAL' "
                    "THEN -t.amount ELSE t.amount END), 0) AS ledger_sum, "
                    "coalesce(min(t.balance_after), 0) AS lowest, "
                    "count(*) FILTER (WHERE t.transaction_type = 'WITHDRAWAL') AS withdrawals "
                    "FROM loyalty_contracts c "
                    "LEFT JOIN loyalty_points_transactions t ON t.contract_id = c.id "
                    "WHERE c.uuid = :uuid GROUP BY c.points_balance"
                ),
                {"uuid": uuid},
            )
        ).one()
    await db.dispose()
    return Ledger(Decimal(row[0]), Decimal(row[1]), Decimal(row[2]), int(row[3]))
