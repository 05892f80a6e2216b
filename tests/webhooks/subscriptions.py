"""A partner integration subscribed to webhooks, through the admin API."""

from typing import Any

from openbenefits.webhooks.schemas import EventType
from tests.chain import Chain
from tests.helpers import expect


async def subscribe(chain: Chain, url: str, studio: int, **fields: Any) -> dict[str, Any]:
    """A partner integrated in ``studio`` with a subscription to every event."""
    base = f"/admin/v1/tenants/{chain.tenant_id}"
    partner = expect(
        await chain.client.post(f"{base}/partners", json={"name": "Hooks"}, headers=chain.admin),
        201,
    )
    integration = expect(
        await chain.client.post(
            f"{base}/partner-integrations",
            json={"partnerId": partner["id"], "studioId": studio},
            headers=chain.admin,
        ),
        201,
    )
    body = {
        "partnerIntegrationId": integration["id"],
        "url": url,
        "eventTypes": [kind.value for kind in EventType],
        "apiKey": "partner-key",
        **fields,
    }
    return expect(
        await chain.client.post(f"{base}/webhook-subscriptions", json=body, headers=chain.admin),
        201,
    )
