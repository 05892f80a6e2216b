"""Tenant isolation, generated from the route table (PRODUCT.md §8): two tenants built through the
API, and every operation of every surface sent with one tenant's credentials and the other's ids
-- in both directions, as idempotent replays, and with withdrawn credentials. A route added later
is covered without editing this file (tests/security/matrix.py)."""

from datetime import timedelta

import httpx
import pytest

from openbenefits.tenancy.scopes import StudioScope
from openbenefits.tenancy.service import issue_admin_token
from tests.helpers import admin_headers, expect
from tests.security.matrix import (
    Filler,
    call,
    calls,
    components,
    operations,
    outcome,
    send,
    snapshot,
    unknown_ids,
)
from tests.security.world import TenantWorld, build_tenant

REPLAYED = "idempotent-replayed"


@pytest.fixture
async def tenants(plain_client, settings, clock) -> tuple[TenantWorld, TenantWorld]:
    alpha = await build_tenant(plain_client, settings, clock, "alpha")
    beta = await build_tenant(plain_client, settings, clock, "beta")
    return alpha, beta


async def test_no_credential_of_one_tenant_reaches_anothers_data(
    app, plain_client, db, tenants
) -> None:
    """Another tenant's ids answer exactly as ids that exist nowhere, change none of its rows
    and show none of its data."""
    schemas = components(app)
    failures: list[str] = []
    reached = sent = 0
    for attacker, victim in (tenants[::-1], tenants):
        theirs = Filler(schemas, victim.ids)
        nobodys = Filler(schemas, unknown_ids(victim.ids))
        for op in operations(app):
            for request, twin in zip(calls(op, theirs), calls(op, nobodys), strict=True):
                headers = attacker.credentials(op.path)
                before = await snapshot(db, victim.tenant_id)
                answer = await send(plain_client, request, headers)
                after = await snapshot(db, victim.tenant_id)
                baseline = await send(plain_client, twin, headers)
                where = f"{op.name} {request.params} by {attacker.marker} on {victim.marker}"
                if outcome(answer) != outcome(baseline):
                    failures.append(
                        f"{where}: {outcome(answer)} but {outcome(baseline)} for no one's"
                    )
                if after != before:
                    changed = sorted(t for t in before if before[t] != after.get(t))
                    failures.append(f"{where}: changed {changed}")
                if victim.marker in answer.text:
                    failures.append(f"{where}: answered the victim's data")
                if answer.status_code >= 500:
                    failures.append(f"{where}: {answer.status_code}")
                reached += answer.status_code not in (400, 422)
                sent += 1
    assert not failures, "\n".join(failures)
    # Most requests must get past validation to prove anything.
    assert reached > sent * 0.9


async def test_idempotent_answers_are_replayed_to_their_principal_only(
    app, plain_client, db, tenants
) -> None:
    """A key one tenant used, repeated by the other with the same request, replays nothing."""
    schemas = components(app)
    failures: list[str] = []
    stored = 0
    for owner, other in (tenants, tenants[::-1]):
        filler = Filler(schemas, owner.ids)
        for op in operations(app):
            if op.method != "POST" or op.surface == "public":
                continue
            request = call(op, filler)
            key = {"Idempotency-Key": f"shared-{owner.tenant_id}-{op.name}"}
            first = await send(plain_client, request, {**owner.credentials(op.path), **key})
            if first.status_code >= 300:
                continue
            stored += 1
            before = await snapshot(db, owner.tenant_id)
            answer = await send(plain_client, request, {**other.credentials(op.path), **key})
            where = f"{op.name} of {owner.marker} repeated by {other.marker}"
            if REPLAYED in answer.headers or owner.marker in answer.text:
                failures.append(f"{where}: replayed the owner's answer")
            if await snapshot(db, owner.tenant_id) != before:
                failures.append(f"{where}: changed the owner's rows")
            again = await send(plain_client, request, {**owner.credentials(op.path), **key})
            if again.headers.get(REPLAYED) != "true" or again.content != first.content:
                failures.append(f"{where}: the owner's own retry was not replayed")
    assert not failures, "\n".join(failures)
    assert stored > 20


async def _withdrawn(
    client: httpx.AsyncClient, world: TenantWorld, settings, clock
) -> dict[str, list[dict[str, str]]]:
    """Credentials of each surface that were good and are not any more, each used first."""
    base = f"/admin/v1/tenants/{world.tenant_id}"
    every_scope = [scope.value for scope in StudioScope]
    key = expect(
        await client.post(
            f"{base}/api-keys",
            json={"studioId": world.ids["studioId"], "name": "leaving", "scopes": every_scope},
            headers=world.admin,
        ),
        201,
    )
    oauth = expect(
        await client.post(
            f"{base}/oauth-clients",
            json={"name": "leaving", "scopes": ["LOYALTY_READ", "LOYALTY_WRITE"]},
            headers=world.admin,
        ),
        201,
    )
    form = {
        "grant_type": "client_credentials",
        "client_id": oauth["clientId"],
        "client_secret": oauth["clientSecret"],
    }
    token = expect(await client.post("/oauth/token", data=form), 200)["access_token"]
    revoked_admin = issue_admin_token(
        settings.signing_key,
        name="tester",
        tenant_id=world.tenant_id,
        now=clock.now(),
        ttl=timedelta(hours=1),
        token_id=f"leaving-{world.tenant_id}",
    )
    expired_admin = issue_admin_token(
        settings.signing_key,
        name="tester",
        tenant_id=world.tenant_id,
        now=clock.now() - timedelta(hours=2),
        ttl=timedelta(hours=1),
    )
    return {
        "studio": [{"X-API-KEY": key["key"]}],
        "loyalty": [{"Authorization": f"Bearer {token}"}],
        "admin": [
            {"Authorization": f"Bearer {revoked_admin}"},
            {"Authorization": f"Bearer {expired_admin}"},
        ],
        "_revoke": [
            {"method": "DELETE", "url": f"{base}/api-keys/{key['id']}"},
            {"method": "DELETE", "url": f"{base}/oauth-clients/{oauth['id']}"},
            {"method": "DELETE", "url": f"/admin/v1/admin-tokens/leaving-{world.tenant_id}"},
        ],
    }


async def test_withdrawn_credentials_open_nothing_not_even_a_replay(
    app, plain_client, settings, clock, tenants
) -> None:
    world = tenants[0]
    schemas = components(app)
    filler = Filler(schemas, world.ids)
    withdrawn = await _withdrawn(plain_client, world, settings, clock)
    ops = [op for op in operations(app) if op.surface != "public"]
    # Used while good (the expired admin token never was), with a key a replay could match.
    for op in ops:
        if op.method == "POST":
            key = {"Idempotency-Key": f"withdrawn-{op.name}"}
            await send(plain_client, call(op, filler), {**withdrawn[op.surface][0], **key})
    everyone = admin_headers(settings, clock)
    for revocation in withdrawn["_revoke"]:
        response = await plain_client.request(
            revocation["method"], revocation["url"], headers=everyone
        )
        assert response.status_code == 204, response.text
    failures = []
    for op in ops:
        for headers in withdrawn[op.surface]:
            key = {"Idempotency-Key": f"withdrawn-{op.name}"}
            answer = await send(plain_client, call(op, filler), {**headers, **key})
            if answer.status_code != 401 or REPLAYED in answer.headers:
                failures.append(f"{op.name}: {answer.status_code} {answer.text[:120]}")
    assert not failures, "\n".join(failures)
