"""The demo tenant of PRODUCT.md §7: Studio A and Studio B of one chain, a sauna partner active in
both, a body-measurement partner, studio and partner API keys, a loyalty OAuth client.

Loading is idempotent, and the credentials are derived from the instance secret, so every run
prints the same working credentials while only their hashes are stored.
"""

import hashlib
import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.kit.audit import SystemActor
from openbenefits.kit.clock import Clock
from openbenefits.kit.db import Database
from openbenefits.kit.security import hash_secret
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


def _derived(master: bytes, label: str, prefix: str) -> str:
    digest = hmac.new(master, f"demo:{label}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}_demo_{digest[:32]}"


async def _ensure(
    session: AsyncSession, existing: Select[T], create: Callable[[], Awaitable[T]]
) -> T:
    """The row ``existing`` finds, or a new one: loading the demo twice changes nothing."""
    row = await session.scalar(existing)
    return row if row is not None else await create()


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
        await session.commit()
    return {
        "tenantId": tenant.id,
        "studios": {name: studio.id for name, studio in studios.items()},
        "partnerIntegrations": {
            f"{partner} @ {studio}": row.id for (partner, studio), row in integrations.items()
        },
        "apiKeys": api_keys,
        "oauthClient": {"clientId": OAUTH_CLIENT_ID, "clientSecret": client_secret},
        "adminToken": service.issue_admin_token(
            master, name="demo-admin", tenant_id=None, now=clock.now(), ttl=timedelta(days=30)
        ),
    }
