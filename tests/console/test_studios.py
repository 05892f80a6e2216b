"""Studios, partner integrations, benefits and grants, keys and webhooks in the console: every
change goes through the admin API's services (its rules, audit entries and events), refusals
show the service's own error beside the field, and a studio manager stays in their studios."""

import re

from sqlalchemy import select

from openbenefits.console.models import OperatorRole
from openbenefits.kit.audit import AuditEntry
from openbenefits.webhooks.models import WebhookDelivery
from tests.chain import create_module, create_rate
from tests.helpers import admin_headers, expect


async def _integration_page(browser, integration_id: int) -> str:
    page = await browser.client.get(f"/console/integrations/{integration_id}")
    assert page.status_code == 200, page.text
    return page.text


async def _rate(client, headers, tenant) -> dict:
    """A free rate of 12 months, through the admin API."""
    return expect(
        await client.post(
            f"/admin/v1/tenants/{tenant.tenant_id}/rates",
            json={
                "name": "Premium 12",
                "term": {"value": 12, "unit": "MONTH"},
                "extensionTerm": {"value": 1, "unit": "MONTH"},
                "cancellationPeriod": {"value": 1, "unit": "MONTH"},
                "paymentFrequencies": [{"type": "FREE", "price": "0", "currency": "EUR"}],
            },
            headers=headers,
        ),
        201,
    )


async def test_a_partner_benefit_with_a_contingent_granted_by_a_module(
    signed_in, tenant, client, settings, clock, db
):
    admin = await signed_in(OperatorRole.TENANT_ADMIN)
    headers = admin_headers(settings, clock)
    base = f"/admin/v1/tenants/{tenant.tenant_id}"
    rate = await _rate(client, headers, tenant)
    module = await admin.post(
        "/console/modules",
        **{
            "name": "Sauna",
            "active": "true",
            "online_bookable": "true",
            "term.value": "1",
            "term.unit": "MONTH",
            "payment_frequencies.0.type": "RECURRING",
            "payment_frequencies.0.term.value": "1",
            "payment_frequencies.0.term.unit": "MONTH",
            "payment_frequencies.0.price": "9.90",
            "payment_frequencies.0.currency": "EUR",
            "rate_ids": str(rate["id"]),
        },
    )
    assert module.status_code == 303, module.text
    modules = expect(await client.get(f"{base}/additional-modules", headers=headers), 200)
    (sauna,) = modules
    assert sauna["visible"] is True
    assert sauna["rateIds"] == [rate["id"]]

    url = f"/console/integrations/{tenant.integration_id}"
    created = await admin.post(f"{url}/benefits", key="SAUNA", name="Sauna", cross_facility="true")
    assert created.status_code == 303
    assert created.headers["location"] == f"{url}?done=benefit#benefits"
    taken = await admin.post(f"{url}/benefits", key="SAUNA", name="Again")
    assert taken.status_code == 422
    assert re.search(r'id="benefit-key-error"[^>]*>[^<]*BENEFIT_KEY_TAKEN', taken.text)
    assert 'value="Again"' in taken.text  # what was typed stays
    lower = await admin.post(f"{url}/benefits", key="sauna!", name="Bad key")
    assert 'id="benefit-key-error"' in lower.text

    (benefit,) = expect(
        await client.get(f"{base}/partners/{tenant.partner_id}/benefits", headers=headers), 200
    )
    grants = f"{url}/benefits/{benefit['id']}/grants"
    # The weekly limit is the form's second row, and the request's only contingent.
    zero = await admin.post(
        grants, source=f"module:{sauna['id']}", **_limits(DAY="", WEEK="0", MONTH="")
    )
    assert zero.status_code == 422
    assert f'id="grant-{benefit["id"]}-contingents.1.uses-error"' in zero.text
    granted = await admin.post(grants, source=f"module:{sauna['id']}", **_limits(WEEK="3"))
    assert granted.status_code == 303
    twice = await admin.post(grants, source=f"module:{sauna['id']}")
    assert "GRANT_EXISTS" in twice.text
    page = await _integration_page(admin, tenant.integration_id)
    assert "Module Sauna" in page
    assert "<td>3 per WEEK</td>" in page

    (stored,) = expect(
        await client.get(f"{base}/partners/{tenant.partner_id}/benefits", headers=headers), 200
    )
    assert stored["crossFacility"] is True
    assert stored["grants"][0]["contingents"] == [{"uses": 3, "period": "WEEK"}]
    assert stored["grants"][0]["additionalModuleId"] == sauna["id"]

    renamed = await admin.post(
        f"{url}/benefits/{benefit['id']}", name="Sauna visit", cross_facility="false"
    )
    assert renamed.status_code == 303
    removed = await admin.post(f"{grants}/{stored['grants'][0]['id']}/remove")
    assert removed.status_code == 303
    (after,) = expect(
        await client.get(f"{base}/partners/{tenant.partner_id}/benefits", headers=headers), 200
    )
    assert (after["name"], after["crossFacility"], after["grants"]) == ("Sauna visit", False, [])

    async with db.session() as session:
        actions = [
            (entry.action, entry.actor)
            for entry in await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.actor.like("operator:%"))
                .order_by(AuditEntry.id)
            )
        ]
    assert [action for action, _ in actions] == [
        "additional_module.created",
        "benefit.created",
        "benefit_grant.created",
        "benefit.updated",
        "benefit_grant.removed",
    ]
    assert {actor for _, actor in actions} == {f"operator:{admin.operator_id}"}


PERIODS = ("DAY", "WEEK", "MONTH", "YEAR", "TERM")
WORKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"]


def _limits(**uses: str) -> dict[str, str]:
    """The grant form's limit rows as a browser posts them: each period's uses (here: those
    given) and its hidden period."""
    fields = {}
    for row, period in enumerate(PERIODS):
        fields[f"contingents.{row}.period"] = period
        if period in uses:
            fields[f"contingents.{row}.uses"] = uses[period]
    return fields


def _window_rows(*rows: tuple[list[str], str, str]) -> dict[str, str | list[str]]:
    """The grant form's three time window rows as a browser posts them: each row's days (with
    the empty field before the boxes), from and until; the rows not given left empty."""
    fields: dict[str, str | list[str]] = {}
    for row in range(3):
        days, start, end = rows[row] if row < len(rows) else ([], "", "")
        fields[f"time_windows.{row}.days"] = ["", *days]
        fields[f"time_windows.{row}.start"] = start
        fields[f"time_windows.{row}.end"] = end
    return fields


async def _rate_and_benefit(client, headers, tenant, key: str) -> tuple[dict, dict]:
    """A rate to grant from and a benefit of the integration's partner, through the admin API."""
    base = f"/admin/v1/tenants/{tenant.tenant_id}"
    rate = await _rate(client, headers, tenant)
    benefit = expect(
        await client.post(
            f"{base}/partners/{tenant.partner_id}/benefits",
            json={"key": key, "name": key.title()},
            headers=headers,
        ),
        201,
    )
    return rate, benefit


async def test_a_grant_with_stacked_limits_and_time_windows(
    signed_in, tenant, client, settings, clock
):
    admin = await signed_in(OperatorRole.TENANT_ADMIN)
    headers = admin_headers(settings, clock)
    base = f"/admin/v1/tenants/{tenant.tenant_id}"
    rate, benefit = await _rate_and_benefit(client, headers, tenant, "SAUNA")
    url = f"/console/integrations/{tenant.integration_id}"
    grants = f"{url}/benefits/{benefit['id']}/grants"
    form = f"grant-{benefit['id']}"

    async def post(fields: dict[str, str | list[str]]):
        data = {"csrf": admin.csrf, "source": f"rate:{rate['id']}", **fields}
        return await admin.client.post(grants, data=data)

    async def stored() -> list[dict]:
        read = expect(await client.get(f"{base}/benefits/{benefit['id']}", headers=headers), 200)
        return read["grants"]

    # The form as first shown: a uses field per period, three empty rows of time windows.
    page = await _integration_page(admin, tenant.integration_id)
    for row, period in enumerate(PERIODS):
        assert (
            f'<label for="{form}-contingents.{row}.uses">Uses per {period.lower()}</label>' in page
        )
        assert f'name="contingents.{row}.period" value="{period}"' in page
    for row in range(3):
        assert f'<label for="{form}-time_windows.{row}.start">From</label>' in page
        assert (
            f'id="{form}-time_windows.{row}.end" name="time_windows.{row}.end" type="time"' in page
        )
        assert f'name="time_windows.{row}.days" value="SUNDAY"' in page

    # End before start: refused beside its row (the second), everything typed kept.
    backwards = await post(
        {
            **_limits(DAY="1", MONTH="8"),
            **_window_rows(([], "", ""), (WORKDAYS, "16:00", "10:00")),
        }
    )
    assert backwards.status_code == 422
    assert re.search(
        rf'id="{form}-time_windows.1-error" role="alert">[^<]*end must be after start',
        backwards.text,
    )
    assert re.search(rf'id="{form}-contingents.0.uses"[^>]*value="1"', backwards.text)
    assert re.search(rf'id="{form}-contingents.2.uses"[^>]*value="8"', backwards.text)
    assert re.search(rf'id="{form}-time_windows.1.start"[^>]*value="16:00"', backwards.text)
    assert re.search(rf'id="{form}-time_windows.1.end"[^>]*value="10:00"', backwards.text)
    assert 'name="time_windows.1.days" value="FRIDAY" checked' in backwards.text
    assert 'name="time_windows.1.days" value="SATURDAY">' in backwards.text
    assert 'name="time_windows.0.days" value="MONDAY">' in backwards.text
    assert "<details open>" in backwards.text
    assert await stored() == []

    # A limit refused beside its own input: the monthly one, the request's second contingent.
    no_uses = await post(_limits(DAY="1", WEEK="", MONTH="0"))
    assert no_uses.status_code == 422
    assert re.search(rf'id="{form}-contingents.2.uses-error" role="alert">[^<]*1', no_uses.text)
    assert f'id="{form}-contingents.1.uses-error"' not in no_uses.text

    # Hours without a day: the days of that row are asked for.
    no_day = await post({**_window_rows(([], "10:00", "16:00"))})
    assert no_day.status_code == 422
    assert f'id="{form}-time_windows.0.days-error"' in no_day.text
    assert await stored() == []

    granted = await post(
        {
            **_limits(DAY="1", WEEK="", MONTH="8", YEAR="", TERM=""),
            **_window_rows(([], "", ""), (WORKDAYS, "10:00", "16:00")),
        }
    )
    assert granted.status_code == 303, granted.text
    (grant,) = await stored()
    assert grant["rateId"] == rate["id"]
    assert grant["contingents"] == [{"uses": 1, "period": "DAY"}, {"uses": 8, "period": "MONTH"}]
    assert grant["timeWindows"] == [{"days": WORKDAYS, "start": "10:00:00", "end": "16:00:00"}]
    page = await _integration_page(admin, tenant.integration_id)
    assert (
        "<td>1 per DAY, 8 per MONTH; MONDAY, TUESDAY, WEDNESDAY, THURSDAY, FRIDAY 10:00-16:00</td>"
        in page
    )


async def test_an_unlimited_grant_at_any_time(signed_in, tenant, client, settings, clock):
    admin = await signed_in(OperatorRole.TENANT_ADMIN)
    headers = admin_headers(settings, clock)
    base = f"/admin/v1/tenants/{tenant.tenant_id}"
    rate, benefit = await _rate_and_benefit(client, headers, tenant, "TOWEL")
    # Every field as the browser sends it, all empty.
    granted = await admin.client.post(
        f"/console/integrations/{tenant.integration_id}/benefits/{benefit['id']}/grants",
        data={
            "csrf": admin.csrf,
            "source": f"rate:{rate['id']}",
            **_limits(DAY="", WEEK="", MONTH="", YEAR="", TERM=""),
            **_window_rows(),
        },
    )
    assert granted.status_code == 303, granted.text
    read = expect(await client.get(f"{base}/benefits/{benefit['id']}", headers=headers), 200)
    (grant,) = read["grants"]
    assert (grant["contingents"], grant["timeWindows"]) == ([], None)
    page = await _integration_page(admin, tenant.integration_id)
    assert "<td>unlimited</td>" in page


async def test_settings_keys_and_webhooks_of_an_integration(signed_in, tenant, client, db):
    manager = await signed_in(OperatorRole.STUDIO_MANAGER)
    url = f"/console/integrations/{tenant.integration_id}"
    saved = await manager.post(
        f"{url}/settings", active="true", direct_cancelation="true", direct_withdrawal="false"
    )
    assert saved.status_code == 303
    page = await _integration_page(manager, tenant.integration_id)
    assert re.search(r'name="direct_cancelation" type="checkbox" value="true" checked', page)
    assert not re.search(r'name="direct_withdrawal" type="checkbox" value="true" checked', page)

    created = await manager.post(f"{url}/api-keys", name="sauna app", scopes="CUSTOMER_READ")
    assert created.status_code == 201
    key = re.search(r'<code id="secret">([^<]+)</code>', created.text).group(1)
    assert (await client.head("/v1/customers", headers={"X-API-KEY": key})).status_code == 200
    page = await _integration_page(manager, tenant.integration_id)
    assert key not in page
    assert key[:12] in page
    newest = max(int(found) for found in re.findall(rf"{url}/api-keys/(\d+)/revoke", page))
    assert (await manager.post(f"{url}/api-keys/{newest}/revoke")).status_code == 303
    assert (await client.head("/v1/customers", headers={"X-API-KEY": key})).status_code == 401

    # As the browser sends it: the choices' empty field, no box ticked.
    no_events = await manager.post(
        f"{url}/webhooks", url="https://hooks.example.org/in", event_types=""
    )
    assert no_events.status_code == 422
    assert 'id="webhook-event_types-error"' in no_events.text
    private = await manager.post(f"{url}/webhooks", url="https://10.0.0.1/in", event_types="TEST")
    assert "WEBHOOK_TARGET_NOT_ALLOWED" in private.text
    assert 'id="webhook-url-error"' in private.text
    subscribed = await manager.client.post(
        f"{url}/webhooks",
        data={
            "csrf": manager.csrf,
            "url": "https://hooks.example.org/in",
            "event_types": ["TEST", "BENEFIT_USED"],
        },
    )
    assert subscribed.status_code == 201
    assert re.search(r'<code id="secret">whsec_', subscribed.text)
    subscription = re.search(r'href="/console/webhooks/(\d+)"', subscribed.text).group(1)
    hook = f"/console/webhooks/{subscription}"
    assert (await manager.post(f"{hook}/test")).status_code == 303
    rotated = await manager.post(f"{hook}/rotate")
    assert re.search(r'<code id="secret">whsec_', rotated.text)
    deliveries = await manager.client.get(hook)
    assert "TEST" in deliveries.text
    async with db.session() as session:
        (delivery,) = await session.scalars(select(WebhookDelivery))
    redelivered = await manager.post(f"{hook}/deliveries/{delivery.id}/redeliver")
    assert redelivered.status_code == 303


async def test_a_studio_manager_stays_in_their_studios(signed_in, chain, db):
    manager = await signed_in(
        OperatorRole.STUDIO_MANAGER, studio_ids=[chain.studio_a], tenant_id=chain.tenant_id
    )
    studios = await manager.client.get("/console/studios")
    assert "Chain Studio" in studios.text
    assert "Studio B" not in studios.text
    other = expect(
        await chain.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/partner-integrations",
            json={"partnerId": await _partner(chain), "studioId": chain.studio_b},
            headers=chain.admin,
        ),
        201,
    )
    assert (await manager.client.get(f"/console/integrations/{other['id']}")).status_code == 404
    assert (
        await manager.client.get(f"/console/integrations/{chain.integration_a}")
    ).status_code == 200
    refused = await manager.post(f"/console/studios/{chain.studio_b}/integrations", partner_id="1")
    assert refused.status_code == 404
    # The catalogue is the tenant's: seen, not changed.
    rate = await create_rate(chain)
    await create_module(chain, [rate["id"]])
    modules = await manager.client.get("/console/modules")
    assert "Sauna" in modules.text
    assert 'action="/console/modules"' not in modules.text
    assert (await manager.post("/console/partners", name="Another")).status_code == 403


async def _partner(chain) -> int:
    integration = expect(
        await chain.client.get(
            f"/admin/v1/tenants/{chain.tenant_id}/partner-integrations/{chain.integration_a}",
            headers=chain.admin,
        ),
        200,
    )
    return int(str(integration["partnerId"]))
