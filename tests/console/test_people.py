"""The tenant's operators managed in the console, and the audit log filtered by actor, entity
and time."""

import re

from openbenefits.console.models import OperatorRole
from tests.console.conftest import sign_in


async def test_a_tenant_admin_adds_and_removes_operators(signed_in, tenant, open_browser):
    admin = await signed_in(OperatorRole.TENANT_ADMIN)
    new = {"email": "anna@console.example", "role": "STUDIO_MANAGER", "password": "a long password"}
    without_studio = await admin.post("/console/operators", studio_ids="", **new)
    assert without_studio.status_code == 422
    assert re.search(
        r'id="operator-studio_ids-error"[^>]*>[^<]*STUDIOS_REQUIRED', without_studio.text
    )
    short = await admin.post(
        "/console/operators", **{**new, "password": "short"}, studio_ids=str(tenant.studio_id)
    )
    assert 'id="operator-password-error"' in short.text
    assert "PASSWORD_LENGTH" in short.text
    assert "a long password" not in short.text  # a password is never written back
    added = await admin.post("/console/operators", **new, studio_ids=str(tenant.studio_id))
    assert added.status_code == 303
    again = await admin.post("/console/operators", **new, studio_ids=str(tenant.studio_id))
    assert re.search(r'id="operator-email-error"[^>]*>[^<]*OPERATOR_EXISTS', again.text)

    anna = open_browser()
    await sign_in(anna, "anna@console.example", "a long password")
    page = (await admin.client.get("/console/operators")).text
    assert re.search(r"anna@console.example</td>\s*<td>studio manager</td>\s*<td>Harbour", page)
    anna_id = re.search(
        r'/console/operators/(\d+)/remove" class="inline" data-confirm="Remove anna', page
    )
    assert anna_id
    own = await admin.post(f"/console/operators/{admin.operator_id}/remove")
    assert "OWN_ACCOUNT" in own.text
    assert (await admin.post(f"/console/operators/{anna_id.group(1)}/remove")).status_code == 303
    assert (await anna.get("/console")).status_code == 303  # signed out at once
    assert "anna@console.example" not in (await admin.client.get("/console/operators")).text


async def test_the_audit_log_by_actor_entity_and_time(signed_in, tenant):
    admin = await signed_in(OperatorRole.TENANT_ADMIN)
    url = f"/console/integrations/{tenant.integration_id}"
    await admin.post(f"{url}/settings", active="true", direct_cancelation="true")
    await admin.post(f"{url}/benefits", key="SAUNA", name="Sauna")
    viewer = await signed_in(OperatorRole.READ_ONLY)

    everything = (await viewer.client.get("/console/audit")).text
    assert "partner_integration.updated" in everything
    assert "benefit.created" in everything
    assert "partner_integration.created" in everything  # made through the admin API
    mine = (
        await viewer.client.get("/console/audit", params={"actor": f"operator:{admin.operator_id}"})
    ).text
    assert "benefit.created" in mine
    assert "partner_integration.created" not in mine
    integration = (
        await viewer.client.get(
            "/console/audit",
            params={"entity_type": "partner_integration", "entity_id": str(tenant.integration_id)},
        )
    ).text
    assert "partner_integration.updated" in integration
    assert "benefit.created" not in integration
    long_ago = (
        await viewer.client.get("/console/audit", params={"from": "2000-01-01", "to": "2000-01-02"})
    ).text
    assert "No entry." in long_ago
    manager = await signed_in(OperatorRole.STUDIO_MANAGER)
    assert (await manager.client.get("/console/audit")).status_code == 403
