"""The demo tenant of PRODUCT.md §7: Studio A and Studio B of one chain, a sauna partner active in
both, a body-measurement partner, studio and partner API keys, a loyalty OAuth client and the
loyalty programs of seed 003 (loyalty/demo.py).

Loading is idempotent, and the credentials are derived from the instance secret, so every run
prints the same working credentials while only their hashes are stored.
"""

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.benefits import definitions
from openbenefits.benefits import schemas as benefits_schemas
from openbenefits.benefits.models import ContingentPeriod
from openbenefits.console import operators
from openbenefits.console.models import Operator, OperatorRole
from openbenefits.contracts import modules
from openbenefits.contracts import schemas as contracts_schemas
from openbenefits.contracts import service as contracts_service
from openbenefits.contracts.models import (
    AdditionalModule,
    ExtensionType,
    PaymentFrequencyType,
    Rate,
)
from openbenefits.contracts.terms import TermUnit
from openbenefits.customers import activities
from openbenefits.customers import schemas as customers_schemas
from openbenefits.customers import service as customers_service
from openbenefits.customers.models import AccessMediumType, Customer, CustomerStatus
from openbenefits.kit.audit import SystemActor
from openbenefits.kit.clock import Clock
from openbenefits.kit.db import Database
from openbenefits.kit.periods import add_months, local_date
from openbenefits.kit.security import hash_secret
from openbenefits.kit.work import Work
from openbenefits.loyalty.demo import CUSTOMER_NUMBER, load_loyalty_demo
from openbenefits.tenancy import schemas, service
from openbenefits.tenancy.models import (
    ApiKey,
    OAuthClient,
    Partner,
    PartnerIntegration,
    Studio,
    Tenant,
)
from openbenefits.tenancy.scopes import LoyaltyScope, StudioScope

T = TypeVar("T")

DEMO_SLUG = "demo"
ACTOR = SystemActor("demo")
PARTNER_SCOPES = [
    StudioScope.CUSTOMER_READ,
    StudioScope.CUSTOMER_BENEFIT_READ,
    StudioScope.CUSTOMER_BENEFIT_WRITE,
]
MEASUREMENT_SCOPES = [
    *PARTNER_SCOPES,
    StudioScope.CUSTOMER_MEASUREMENT_READ,
    StudioScope.CUSTOMER_WEIGHING_WRITE,
]


@dataclass(frozen=True)
class DemoKey:
    label: str
    studio: str
    partner: str | None
    scopes: list[StudioScope]


DEMO_KEYS = [
    DemoKey("studio-a", "Studio A", None, list(StudioScope)),
    DemoKey("studio-b", "Studio B", None, list(StudioScope)),
    DemoKey("sauna-a", "Studio A", "Sauna App", PARTNER_SCOPES),
    DemoKey("sauna-b", "Studio B", "Sauna App", PARTNER_SCOPES),
    DemoKey("body-scan-a", "Studio A", "Body Scan", MEASUREMENT_SCOPES),
]
ZONE = "Europe/Berlin"
STUDIOS = ["Studio A", "Studio B"]
PARTNERS = ["Sauna App", "Body Scan"]
INTEGRATIONS = [("Sauna App", "Studio A"), ("Sauna App", "Studio B"), ("Body Scan", "Studio A")]
OAUTH_CLIENT_ID = "demo-loyalty"


@dataclass(frozen=True)
class DemoOperator:
    email: str
    role: OperatorRole
    studios: tuple[str, ...] = ()


DEMO_OPERATORS = [
    DemoOperator("admin@demo.example", OperatorRole.TENANT_ADMIN),
    DemoOperator("studio-a@demo.example", OperatorRole.STUDIO_MANAGER, ("Studio A",)),
    DemoOperator("loyalty@demo.example", OperatorRole.LOYALTY_MANAGER),
    DemoOperator("viewer@demo.example", OperatorRole.READ_ONLY),
]


def _derived(master: bytes, label: str, prefix: str) -> str:
    digest = hmac.new(master, f"demo:{label}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}_demo_{digest[:32]}"


async def _ensure(
    session: AsyncSession, existing: Select[T], create: Callable[[], Awaitable[T]]
) -> T:
    """The row ``existing`` finds, or a new one: loading the demo twice changes nothing."""
    row = await session.scalar(existing)
    return row if row is not None else await create()


@dataclass(frozen=True)
class DemoCustomer:
    number: str
    first_name: str
    last_name: str
    studio: str
    card: str | None  # a card number; None for a prospect without contract


DEMO_CUSTOMERS = [
    DemoCustomer("A-1001", "Anna", "Berg", "Studio A", "168496141"),
    DemoCustomer("A-1002", "Ben", "Krause", "Studio A", "168496142"),
    DemoCustomer("A-1003", "Clara", "Weiss", "Studio A", None),
    DemoCustomer("B-2001", "David", "Lang", "Studio B", "268496141"),
]
# Anna of Studio A holds the Sauna module (the seed's "customer A").
SAUNA_MEMBER = "A-1001"
DEMO_RATE = contracts_schemas.RateCreate(
    name="Premium 12",
    term=contracts_schemas.PeriodIn(value=12, unit=TermUnit.MONTH),
    extension_term=contracts_schemas.PeriodIn(value=1, unit=TermUnit.MONTH),
    cancellation_period=contracts_schemas.NoticeIn(value=1, unit=TermUnit.MONTH),
    payment_frequencies=[
        contracts_schemas.PaymentFrequencyIn(
            type=PaymentFrequencyType.RECURRING,
            term=contracts_schemas.PeriodIn(value=1, unit=TermUnit.MONTH),
            price=Decimal("39.90"),
            currency="EUR",
        )
    ],
)


DEMO_MODULE = contracts_schemas.ModuleCreate(
    name="Sauna",
    description="Sauna five times a month, in Studio A and Studio B.",
    term=contracts_schemas.PeriodIn(value=1, unit=TermUnit.MONTH),
    extension=contracts_schemas.ModuleExtensionIn(
        extension_type=ExtensionType.TERM_EXTENSION,
        term_extension=contracts_schemas.PeriodIn(value=1, unit=TermUnit.MONTH),
    ),
    cancelation_period=contracts_schemas.NoticeIn(value=14, unit=TermUnit.DAY),
    trial_period=contracts_schemas.PeriodIn(value=7, unit=TermUnit.DAY),
    payment_frequencies=[
        contracts_schemas.PaymentFrequencyIn(
            type=PaymentFrequencyType.RECURRING,
            term=contracts_schemas.PeriodIn(value=1, unit=TermUnit.MONTH),
            price=Decimal("9.90"),
            currency="EUR",
        )
    ],
)


async def _define_benefits(
    session: AsyncSession,
    tenant_id: int,
    partners: dict[str, Partner],
    rate: Rate,
    module: AdditionalModule,
    now: datetime,
) -> None:
    """The seed's benefits: a cross-facility sauna the module grants 5 times a month, and a
    body scan (used by posting a weighing) the rate grants once a month."""
    sauna = await definitions.create_benefit(
        session,
        ACTOR,
        tenant_id,
        partners["Sauna App"].id,
        benefits_schemas.BenefitCreate(key="SAUNA", name="Sauna visit", cross_facility=True),
    )
    await definitions.create_grant(
        session,
        ACTOR,
        sauna,
        benefits_schemas.GrantCreate(
            additional_module_id=module.id,
            contingent=benefits_schemas.Contingent(uses=5, period=ContingentPeriod.MONTH),
        ),
        now,
    )
    scan = await definitions.create_benefit(
        session,
        ACTOR,
        tenant_id,
        partners["Body Scan"].id,
        benefits_schemas.BenefitCreate(key="BODY_SCAN", name="Body scan"),
    )
    await definitions.create_grant(
        session,
        ACTOR,
        scan,
        benefits_schemas.GrantCreate(
            rate_id=rate.id,
            contingent=benefits_schemas.Contingent(uses=1, period=ContingentPeriod.MONTH),
        ),
        now,
    )


async def _load_members(
    session: AsyncSession,
    tenant_id: int,
    studios: dict[str, Studio],
    partners: dict[str, Partner],
    now: datetime,
) -> dict[str, int]:
    """A few customers: members with a contract, a card and yesterday's check-in; a prospect."""
    existing = {
        number: customer_id
        for number, customer_id in await session.execute(
            select(Customer.customer_number, Customer.id).where(Customer.tenant_id == tenant_id)
        )
    }
    if all(c.number in existing for c in DEMO_CUSTOMERS):
        return {c.number: existing[c.number] for c in DEMO_CUSTOMERS}
    rate, (frequency,) = await contracts_service.create_rate(session, ACTOR, tenant_id, DEMO_RATE)
    module = await modules.create_module(
        session, ACTOR, tenant_id, DEMO_MODULE.model_copy(update={"rate_ids": [rate.id]})
    )
    (offer,) = await modules.module_offers(session, tenant_id, [module.id])
    await _define_benefits(session, tenant_id, partners, rate, module, now)
    for reason in ("Moving away", "Too expensive", "Health reasons"):
        await modules.create_reason(session, ACTOR, tenant_id, reason)
    start = add_months(local_date(now, ZoneInfo(ZONE)).replace(day=1), -2)
    created = {}
    for demo in DEMO_CUSTOMERS:
        if demo.number in existing:
            created[demo.number] = existing[demo.number]
            continue
        studio = studios[demo.studio]
        customer = await customers_service.create_customer(
            session,
            ACTOR,
            tenant_id,
            customers_schemas.CustomerAdminCreate(
                studio_id=studio.id,
                status=CustomerStatus.MEMBER if demo.card else CustomerStatus.PROSPECT,
                customer_number=demo.number,
                first_name=demo.first_name,
                last_name=demo.last_name,
                email=f"{demo.first_name.lower()}@example.org",
                language=customers_schemas.LanguageIn(language_code="de"),
            ),
        )
        created[demo.number] = customer.id
        if demo.card is None:
            continue
        await customers_service.add_access_medium(
            session, ACTOR, customer, AccessMediumType.CARD_NUMBER, demo.card
        )
        contract = await contracts_service.create_contract(
            session,
            ACTOR,
            tenant_id,
            contracts_schemas.ContractCreate(
                customer_id=customer.id,
                rate_id=rate.id,
                payment_frequency_id=frequency.id,
                start_date=start,
            ),
            now,
        )
        await activities.check_in(session, ACTOR, customer, studio, now - timedelta(days=1))
        if demo.number == SAUNA_MEMBER:
            request = contracts_schemas.AdditionalModuleContractRequest(
                additional_module_id=module.id,
                payment_frequency_id=offer.frequencies[0].id,
                book_trial_period=False,
            )
            await modules.purchase(session, ACTOR, contract, request, start)
    return created


async def load_demo(db: Database, master: bytes, clock: Clock) -> dict[str, Any]:
    async with db.session() as session:
        tenant = await _ensure(
            session,
            select(Tenant).where(Tenant.slug == DEMO_SLUG),
            lambda: service.create_tenant(
                session,
                ACTOR,
                schemas.TenantCreate(name="Demo Fitness", slug=DEMO_SLUG, time_zone=ZONE),
            ),
        )
        studios = {
            name: await _ensure(
                session,
                select(Studio).where(Studio.tenant_id == tenant.id, Studio.name == name),
                partial(
                    service.create_studio,
                    session,
                    ACTOR,
                    tenant.id,
                    schemas.StudioCreate(name=name, time_zone=ZONE, currency="EUR", locale="de-DE"),
                ),
            )
            for name in STUDIOS
        }
        partners = {
            name: await _ensure(
                session,
                select(Partner).where(Partner.tenant_id == tenant.id, Partner.name == name),
                partial(
                    service.create_partner,
                    session,
                    ACTOR,
                    tenant.id,
                    schemas.PartnerCreate(name=name),
                ),
            )
            for name in PARTNERS
        }
        integrations = {
            (partner, studio): await _ensure(
                session,
                select(PartnerIntegration).where(
                    PartnerIntegration.partner_id == partners[partner].id,
                    PartnerIntegration.studio_id == studios[studio].id,
                ),
                partial(
                    service.create_integration,
                    session,
                    ACTOR,
                    tenant.id,
                    schemas.IntegrationCreate(
                        partner_id=partners[partner].id, studio_id=studios[studio].id
                    ),
                ),
            )
            for partner, studio in INTEGRATIONS
        }
        api_keys = {}
        for demo_key in DEMO_KEYS:
            plain = _derived(master, demo_key.label, "obk")
            integration = integrations.get((demo_key.partner or "", demo_key.studio))
            data = schemas.ApiKeyCreate(
                studio_id=studios[demo_key.studio].id,
                partner_integration_id=integration.id if integration else None,
                name=f"demo {demo_key.label}",
                scopes=demo_key.scopes,
            )

            async def create_key(data: schemas.ApiKeyCreate = data, plain: str = plain) -> ApiKey:
                api_key, _ = await service.create_api_key(
                    session, ACTOR, master, tenant.id, data, plain_key=plain
                )
                return api_key

            await _ensure(
                session,
                select(ApiKey).where(ApiKey.key_hash == hash_secret(master, plain)),
                create_key,
            )
            api_keys[demo_key.label] = plain
        client_secret = _derived(master, "oauth-client", "obs")

        async def create_client() -> OAuthClient:
            client, _ = await service.create_oauth_client(
                session,
                ACTOR,
                master,
                tenant.id,
                schemas.OAuthClientCreate(name="demo loyalty", scopes=list(LoyaltyScope)),
                plain_secret=client_secret,
                client_id=OAUTH_CLIENT_ID,
            )
            return client

        await _ensure(
            session,
            select(OAuthClient).where(OAuthClient.client_id == OAUTH_CLIENT_ID),
            create_client,
        )
        console_passwords = {}
        for demo_operator in DEMO_OPERATORS:
            password = _derived(master, f"operator:{demo_operator.email}", "obp")
            await _ensure(
                session,
                select(Operator).where(Operator.email == demo_operator.email),
                partial(
                    operators.create_operator,
                    session,
                    ACTOR,
                    tenant.id,
                    email=demo_operator.email,
                    password=password,
                    role=demo_operator.role,
                    studio_ids=[studios[name].id for name in demo_operator.studios],
                    now=clock.now(),
                ),
            )
            console_passwords[demo_operator.email] = password
        customers = await _load_members(session, tenant.id, studios, partners, clock.now())
        loyalty_contracts = await load_loyalty_demo(
            Work.of(db, session),
            ACTOR,
            tenant.id,
            studios[STUDIOS[0]].id,
            OAUTH_CLIENT_ID,
            master,
            clock.now(),
        )
        await session.commit()
    return {
        "tenantId": tenant.id,
        "studios": {name: studio.id for name, studio in studios.items()},
        "customers": customers,
        "partnerIntegrations": {
            f"{partner} @ {studio}": row.id for (partner, studio), row in integrations.items()
        },
        "apiKeys": api_keys,
        "oauthClient": {"clientId": OAUTH_CLIENT_ID, "clientSecret": client_secret},
        # Console sign-ins (/console), one per role: email → password.
        "operators": console_passwords,
        # The loyalty API's demo contracts by external reference, and their customer.
        "loyaltyContracts": loyalty_contracts,
        "loyaltyCustomerNumber": CUSTOMER_NUMBER,
        "adminToken": service.issue_admin_token(
            master, name="demo-admin", tenant_id=None, now=clock.now(), ttl=timedelta(days=30)
        ),
    }
