"""The demo tenant of PRODUCT.md §7: Studio A and Studio B of one chain, a sauna partner active in
both, a body-measurement partner, studio and partner API keys, a loyalty OAuth client.

Loading is idempotent, and the credentials are derived from the instance secret, so every run
prints the same working credentials while only their hashes are stored.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select

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
STUDIOS = {"Studio A": "Europe/Berlin", "Studio B": "Europe/Berlin"}
INTEGRATIONS = [("Sauna App", "Studio A"), ("Sauna App", "Studio B"), ("Body Scan", "Studio A")]
OAUTH_CLIENT_ID = "demo-loyalty"


def _derived(master: bytes, label: str, prefix: str) -> str:
    digest = hmac.new(master, f"demo:{label}".encode(), hashlib.sha256).hexdigest()
    return f"{prefix}_demo_{digest[:32]}"


async def load_demo(db: Database, master: bytes, clock: Clock) -> dict[str, Any]:
    async with db.session() as session:
        tenant = await session.scalar(select(Tenant).where(Tenant.slug == DEMO_SLUG))
        if tenant is None:
            tenant = await service.create_tenant(
                session,
                ACTOR,
                schemas.TenantCreate(
                    name="Demo Fitness", slug=DEMO_SLUG, time_zone="Europe/Berlin"
                ),
            )
        studios = {}
        for name, zone in STUDIOS.items():
            studio = await session.scalar(
                select(Studio).where(Studio.tenant_id == tenant.id, Studio.name == name)
            )
            studios[name] = studio or await service.create_studio(
                session,
                ACTOR,
                tenant.id,
                schemas.StudioCreate(name=name, time_zone=zone, currency="EUR", locale="de-DE"),
            )
        partners = {}
        for name in {partner for partner, _ in INTEGRATIONS}:
            partner = await session.scalar(
                select(Partner).where(Partner.tenant_id == tenant.id, Partner.name == name)
            )
            partners[name] = partner or await service.create_partner(
                session, ACTOR, tenant.id, schemas.PartnerCreate(name=name)
            )
        integrations = {}
        for partner_name, studio_name in INTEGRATIONS:
            partner_id, studio_id = partners[partner_name].id, studios[studio_name].id
            integration = await session.scalar(
                select(PartnerIntegration).where(
                    PartnerIntegration.partner_id == partner_id,
                    PartnerIntegration.studio_id == studio_id,
                )
            )
            integrations[(partner_name, studio_name)] = integration or (
                await service.create_integration(
                    session,
                    ACTOR,
                    tenant.id,
                    schemas.IntegrationCreate(partner_id=partner_id, studio_id=studio_id),
                )
            )
        api_keys = {}
        for demo_key in DEMO_KEYS:
            plain = _derived(master, demo_key.label, "obk")
            integration = integrations.get((demo_key.partner or "", demo_key.studio))
            if (
                await session.scalar(
                    select(ApiKey.id).where(ApiKey.key_hash == hash_secret(master, plain))
                )
                is None
            ):
                await service.create_api_key(
                    session,
                    ACTOR,
                    master,
                    tenant.id,
                    schemas.ApiKeyCreate(
                        studio_id=studios[demo_key.studio].id,
                        partner_integration_id=integration.id if integration else None,
                        name=f"demo {demo_key.label}",
                        scopes=demo_key.scopes,
                    ),
                    plain_key=plain,
                )
            api_keys[demo_key.label] = plain
        client_secret = _derived(master, "oauth-client", "obs")
        if (
            await session.scalar(
                select(OAuthClient.id).where(OAuthClient.client_id == OAUTH_CLIENT_ID)
            )
            is None
        ):
            await service.create_oauth_client(
                session,
                ACTOR,
                master,
                tenant.id,
                schemas.OAuthClientCreate(name="demo loyalty", scopes=list(LoyaltyScope)),
                plain_secret=client_secret,
                client_id=OAUTH_CLIENT_ID,
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
