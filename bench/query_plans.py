"""Print PostgreSQL's plans for the customer lookups on a large tenant.

    .venv/bin/python bench/query_plans.py --customers 200000

Creates a scratch database, loads ``--customers`` customers (with a card each) into one tenant's
two studios, runs ANALYZE, and prints EXPLAIN (ANALYZE) for the queries the studio Open API
runs: slicing, by id, each "by" identifier, and search. Every one should be an index scan.
"""

import argparse
import asyncio
import uuid

import asyncpg
from sqlalchemy import insert, select, text
from sqlalchemy.dialects import postgresql

from openbenefits.customers import service
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.customers.models import AccessMedium, Customer, CustomerStatus
from openbenefits.customers.schemas import CustomerSearchRequest
from openbenefits.kit.db import Database
from openbenefits.kit.migrations import upgrade_to_head
from openbenefits.tenancy.models import Studio, Tenant


async def load(db: Database, count: int) -> tuple[int, int]:
    async with db.session() as session:
        tenant = Tenant(name="Big", slug="big", time_zone="Europe/Berlin")
        session.add(tenant)
        await session.flush()
        studios = [
            Studio(
                tenant_id=tenant.id, name=n, time_zone="Europe/Berlin", currency="EUR", locale="de"
            )
            for n in ("A", "B")
        ]
        session.add_all(studios)
        await session.flush()
        for start in range(0, count, 10_000):
            rows = [
                {
                    "tenant_id": tenant.id,
                    "studio_id": studios[n % 2].id,
                    "customer_number": f"N{n}",
                    "uuid": str(uuid.uuid4()),
                    "status": CustomerStatus.MEMBER if n % 5 else CustomerStatus.PROSPECT,
                    "first_name": f"First{n}",
                    "last_name": f"Last{n}",
                    "first_name_key": f"first{n}",
                    "last_name_key": f"last{n}",
                    "email": f"c{n}@example.org",
                    "email_key": f"c{n}@example.org",
                    "debtor_id": f"D{n}",
                }
                for n in range(start, min(start + 10_000, count))
            ]
            ids = (await session.scalars(insert(Customer).returning(Customer.id), rows)).all()
            await session.execute(
                insert(AccessMedium),
                [
                    {
                        "tenant_id": tenant.id,
                        "customer_id": i,
                        "type": "CARD_NUMBER",
                        "value": str(10**9 + i),
                    }
                    for i in ids
                ],
            )
        await session.commit()
        await session.execute(text("ANALYZE"))
        return tenant.id, studios[0].id


async def main(args: argparse.Namespace) -> None:
    name = f"openbenefits_plans_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(args.postgres_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    db = Database(
        args.postgres_url.replace("postgresql://", "postgresql+asyncpg://").rsplit("/", 1)[0]
        + f"/{name}"
    )
    try:
        await upgrade_to_head(db.engine)
        tenant_id, studio_id = await load(db, args.customers)
        scope = service.StudioScope(tenant_id, studio_id)
        middle = args.customers // 2 // 2 * 2
        async with db.session() as session:
            sample = await session.scalar(
                select(Customer).where(Customer.customer_number == f"N{middle}")
            )
            assert sample is not None
        statements = {
            "slice (GET /v1/customers?offset=...)": service._in_studio(scope)
            .where(Customer.status == CustomerStatus.MEMBER, Customer.id > sample.id)
            .order_by(Customer.id)
            .limit(101),
            "by id": service._in_studio(scope).where(Customer.id == sample.id),
            "by cardNumber": service._by_medium(
                service._in_studio(scope),
                "CARD_NUMBER",
                service.card_number(str(10**9 + sample.id), CardNumberFormat.DECIMAL),
            ),
            "by customerNumber": service._in_studio(scope).where(
                Customer.customer_number == sample.customer_number
            ),
            "by debtorId": service._in_studio(scope).where(Customer.debtor_id == sample.debtor_id),
            "by qrCodeUuid": service._in_studio(scope).where(Customer.uuid == sample.uuid),
        }
        search = CustomerSearchRequest(last_name=f"Last{middle // 10}")
        async with db.session() as session:
            for label, statement in statements.items():
                await explain(session, label, statement)
            original = session.scalars

            async def capture(statement, *a, **k):  # type: ignore[no-untyped-def]
                await explain(session, "search lastName prefix", statement)
                return await original(statement, *a, **k)

            session.scalars = capture  # type: ignore[method-assign]
            await service.search_customers(session, scope, search)
    finally:
        await db.dispose()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def explain(session, label, statement) -> None:  # type: ignore[no-untyped-def]
    sql = statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})
    plan = (
        (
            await session.execute(
                text(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) {sql}")
            )
        )
        .scalars()
        .all()
    )
    print(f"-- {label}")
    print("\n".join(plan))
    print()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--postgres-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    asyncio.run(main(parser.parse_args()))
