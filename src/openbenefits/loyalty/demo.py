"""The demo tenant's loyalty programs (seed 003): a customer card, a 10-coupon daily card, a gift
card with a first deposit, and a personnel ticket Anders can claim by its external reference."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.customers import schemas as customers_schemas
from openbenefits.customers import service as customers_service
from openbenefits.customers.models import Customer, CustomerStatus
from openbenefits.kit.audit import Actor
from openbenefits.kit.work import Work
from openbenefits.loyalty import contracts, points, programs, schemas
from openbenefits.loyalty.models import LoyaltyContract, PointsTransactionType, ProgramType
from openbenefits.tenancy.principals import LoyaltyPrincipal
from openbenefits.tenancy.scopes import LoyaltyScope

# The demo contracts' external references.
CUSTOMER_CARD = "DEMO-CUSTOMER-CARD"
COUPON_CARD = "DEMO-10-DAY-CARD"
GIFT_CARD = "DEMO-GIFT-CARD"
PERSONNEL_TICKET = "ABCD-DEFG-GH12"
CUSTOMER_NUMBER = 1234567
PERSONNEL_PROFILE = 4567891


def _program(kind: ProgramType, product: str, name: str, start: datetime) -> schemas.ProgramCreate:
    return schemas.ProgramCreate(
        loyalty_program_type=kind,
        product_id=product,
        product_version="ENT:Version:1",
        internal_description=name,
        start_date=start,
        usage_validity_period=timedelta(days=365),
        default_coupons_limit=10 if kind == ProgramType.COUPONS else None,
        coupon_validity_period=timedelta(days=1) if kind == ProgramType.COUPONS else None,
        descriptions=[
            schemas.Description(language_code="ENG", description=name, display_name=name)
        ],
        allow_other_organisations=product.startswith("ENT:EntitlementProduct"),
    )


async def _customer(
    session: AsyncSession, actor: Actor, tenant_id: int, studio_id: int, number: int
) -> Customer:
    existing = await session.scalar(
        select(Customer).where(
            Customer.tenant_id == tenant_id, Customer.customer_number == str(number)
        )
    )
    if existing is not None:
        return existing
    return await customers_service.create_customer(
        session,
        actor,
        tenant_id,
        customers_schemas.CustomerAdminCreate(
            studio_id=studio_id,
            status=CustomerStatus.PROSPECT,
            customer_number=str(number),
            first_name="Anders",
            last_name="Jensen",
            date_of_birth=date(1986, 11, 23),
        ),
    )


async def load_loyalty_demo(
    work: Work,
    actor: Actor,
    tenant_id: int,
    studio_id: int,
    client_id: str,
    master: bytes,
    now: datetime,
) -> dict[str, str]:
    """The demo contracts' uuids by external reference (loading twice changes nothing)."""
    session = await work.session()
    refs = [CUSTOMER_CARD, COUPON_CARD, GIFT_CARD, PERSONNEL_TICKET]
    existing: dict[str, str] = {
        str(ref): uuid
        for ref, uuid in await session.execute(
            select(LoyaltyContract.external_ref, LoyaltyContract.uuid).where(
                LoyaltyContract.tenant_id == tenant_id,
                LoyaltyContract.external_ref.in_(refs),
                LoyaltyContract.parent_id.is_(None),
            )
        )
    }
    if len(existing) == len(refs):
        return existing
    principal = LoyaltyPrincipal(client_id, tenant_id, frozenset(LoyaltyScope))
    await _customer(session, actor, tenant_id, studio_id, CUSTOMER_NUMBER)
    await _customer(session, actor, tenant_id, studio_id, PERSONNEL_PROFILE)
    start = now - timedelta(days=30)
    plan = [
        (CUSTOMER_CARD, ProgramType.TIMED, "ENT:DiscountProduct:CustomerCard", "Customer card"),
        (COUPON_CARD, ProgramType.COUPONS, "ENT:DiscountProduct:10Days", "10-day card"),
        (GIFT_CARD, ProgramType.POINTS, "ENT:PointsBasedProduct:GiftCard", "Gift card"),
        (PERSONNEL_TICKET, ProgramType.TIMED, "ENT:EntitlementProduct:levelA2", "Personnel"),
    ]
    created = {}
    for ref, kind, product, name in plan:
        if ref in existing:
            created[ref] = existing[ref]
            continue
        program, _ = await programs.create_program(
            session, principal, _program(kind, product, name, start), now
        )
        holder = PERSONNEL_PROFILE if ref == PERSONNEL_TICKET else CUSTOMER_NUMBER
        contract = await contracts.create_contract(
            session,
            principal,
            master,
            program.id,
            schemas.ContractCreate(consumable_from=start, customer_number=holder, external_ref=ref),
            now,
        )
        if kind == ProgramType.POINTS:
            await points.record_transaction(
                work,
                principal,
                contract.uuid,
                schemas.PointsTransactionCreate(
                    transaction_type=PointsTransactionType.DEPOSIT,
                    points_type="NOK",
                    amount=Decimal("500.00"),
                    external_ref="demo-initial-deposit",
                ),
                now,
            )
        created[ref] = contract.uuid
    return created
