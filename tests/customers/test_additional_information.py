"""Additional-information fields (admin API) and customers' typed values (studio Open API)."""

import asyncio

import pytest

from tests.customers.test_customer_writes import SIGNUP
from tests.helpers import admin_headers, create_tenant, expect

FIELDS = "/v1/customers/additional-information-fields"
# One field of each type.
DEFINITIONS = {
    "BOOLEAN": {"name": "Newsletter", "type": "BOOLEAN"},
    "DATE": {"name": "Member since", "type": "DATE", "abbreviation": "MS"},
    "LIST": {
        "name": "Membership type",
        "type": "LIST",
        "abbreviation": "MT",
        "listItems": [{"name": "Gold"}, {"name": "Silver"}],
    },
    "NUMERIC": {"name": "Locker", "type": "NUMERIC"},
    "TEXT": {"name": "Note", "type": "TEXT"},
}
VALID = {"BOOLEAN": "true", "DATE": "2020-01-31"}


def assignments_url(customer_id):
    return f"/v1/customers/{customer_id}/additional-information-field-assignments"


def fields_url(chain, field_id=None):
    base = f"/admin/v1/tenants/{chain.tenant_id}/additional-information-fields"
    return base if field_id is None else f"{base}/{field_id}"


async def define(chain, definition):
    return expect(
        await chain.client.post(fields_url(chain), json=definition, headers=chain.admin), 201
    )


async def define_all(chain):
    return {kind: await define(chain, body) for kind, body in DEFINITIONS.items()}


async def assignments_shown(chain, customer_id, key=None):
    customer = await chain.client.get(f"/v1/customers/{customer_id}", headers=key or chain.key_a)
    return expect(customer, 200)["additionalInformationFieldAssignments"]


def assign(field, value):
    return {"additionalInformationFieldId": field["id"], "value": value}


async def test_studios_list_their_tenants_fields_in_the_reference_shape(chain, client):
    fields = await define_all(chain)
    gold, silver = fields["LIST"]["listItems"]
    assert [gold["name"], silver["name"]] == ["Gold", "Silver"]
    listed = expect(await client.get(FIELDS, headers=chain.key_b), 200)
    assert listed == [
        {"id": fields["BOOLEAN"]["id"], "name": "Newsletter", "type": "BOOLEAN"},
        {"id": fields["DATE"]["id"], "name": "Member since", "type": "DATE", "abbreviation": "MS"},
        {
            "id": fields["LIST"]["id"],
            "name": "Membership type",
            "type": "LIST",
            "abbreviation": "MT",
            "listItems": [gold, silver],
        },
        {"id": fields["NUMERIC"]["id"], "name": "Locker", "type": "NUMERIC"},
        {"id": fields["TEXT"]["id"], "name": "Note", "type": "TEXT"},
    ]
    other = await create_tenant(
        client, chain.admin, "Other", scopes=["ADDITIONAL_INFORMATION_READ"]
    )
    theirs = expect(
        await client.post(
            f"/admin/v1/tenants/{other.tenant_id}/additional-information-fields",
            json={"name": "Newsletter", "type": "TEXT"},
            headers=chain.admin,
        ),
        201,
    )
    other_key = {"X-API-KEY": other.api_key}
    assert expect(await client.get(FIELDS, headers=other_key), 200) == [
        {"id": theirs["id"], "name": "Newsletter", "type": "TEXT"}
    ]
    assert theirs["id"] not in {
        f["id"] for f in expect(await client.get(FIELDS, headers=chain.key_a), 200)
    }


async def test_values_of_each_type_are_stored_in_canonical_form_and_shown(chain):
    fields = await define_all(chain)
    gold = fields["LIST"]["listItems"][0]
    customer = await chain.customer()
    body = [
        assign(fields["TEXT"], "  Prefers mornings  "),
        assign(fields["BOOLEAN"], "true"),
        assign(fields["DATE"], "2024-02-29"),
        assign(fields["LIST"], str(gold["id"])),
        assign(fields["NUMERIC"], "+0042"),
    ]
    response = await chain.client.put(
        assignments_url(customer["id"]), json=body, headers=chain.key_a
    )
    stored = [
        assign(fields["BOOLEAN"], "true"),
        assign(fields["DATE"], "2024-02-29"),
        assign(fields["LIST"], str(gold["id"])),
        assign(fields["NUMERIC"], "42"),
        assign(fields["TEXT"], "Prefers mornings"),
    ]
    assert expect(response, 200) == stored
    assert await assignments_shown(chain, customer["id"]) == stored
    other = await chain.customer()
    sliced = expect(await chain.client.get("/v1/customers", headers=chain.key_a), 200)
    shown = {c["id"]: c["additionalInformationFieldAssignments"] for c in sliced["result"]}
    assert shown == {customer["id"]: stored, other["id"]: []}
    admin_view = await chain.client.get(
        f"/admin/v1/tenants/{chain.tenant_id}/customers/{customer['id']}", headers=chain.admin
    )
    assert expect(admin_view, 200)["additionalInformationFieldAssignments"] == stored


async def test_a_put_replaces_every_value(chain):
    fields = await define_all(chain)
    customer = await chain.customer()
    url = assignments_url(customer["id"])
    first = [assign(fields["BOOLEAN"], "false"), assign(fields["TEXT"], "a")]
    expect(await chain.client.put(url, json=first, headers=chain.key_a), 200)
    second = [assign(fields["TEXT"], "b")]
    assert expect(await chain.client.put(url, json=second, headers=chain.key_a), 200) == second
    assert await assignments_shown(chain, customer["id"]) == second
    assert expect(await chain.client.put(url, json=[], headers=chain.key_a), 200) == []
    assert await assignments_shown(chain, customer["id"]) == []


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("BOOLEAN", "yes", "INVALID_ADDITIONAL_INFORMATION_BOOLEAN"),
        ("BOOLEAN", "True", "INVALID_ADDITIONAL_INFORMATION_BOOLEAN"),
        ("BOOLEAN", "", "INVALID_ADDITIONAL_INFORMATION_BOOLEAN"),
        ("DATE", "2026-02-30", "INVALID_ADDITIONAL_INFORMATION_DATE"),
        ("DATE", "20260101", "INVALID_ADDITIONAL_INFORMATION_DATE"),
        ("DATE", "2026-1-5", "INVALID_ADDITIONAL_INFORMATION_DATE"),
        ("DATE", "2026-01-01T10:00", "INVALID_ADDITIONAL_INFORMATION_DATE"),
        ("DATE", "2026-01-01\n", "INVALID_ADDITIONAL_INFORMATION_DATE"),
        ("NUMERIC", "1.5", "INVALID_ADDITIONAL_INFORMATION_NUMERIC"),
        ("NUMERIC", "1e3", "INVALID_ADDITIONAL_INFORMATION_NUMERIC"),
        ("NUMERIC", "twelve", "INVALID_ADDITIONAL_INFORMATION_NUMERIC"),
        ("NUMERIC", "\u0661\u0662", "INVALID_ADDITIONAL_INFORMATION_NUMERIC"),
        ("NUMERIC", "1" * 19, "INVALID_ADDITIONAL_INFORMATION_NUMERIC"),
        ("NUMERIC", "", "INVALID_ADDITIONAL_INFORMATION_NUMERIC"),
        ("TEXT", "", "INVALID_ADDITIONAL_INFORMATION_TEXT"),
        ("TEXT", "   ", "INVALID_ADDITIONAL_INFORMATION_TEXT"),
        ("TEXT", "two\nlines", "INVALID_ADDITIONAL_INFORMATION_TEXT"),
        ("TEXT", "x" * 1001, "INVALID_ADDITIONAL_INFORMATION_TEXT"),
        ("LIST", "Gold", "INVALID_ADDITIONAL_INFORMATION_LIST_ITEM"),
        ("LIST", "999999", "INVALID_ADDITIONAL_INFORMATION_LIST_ITEM"),
        ("LIST", "", "INVALID_ADDITIONAL_INFORMATION_LIST_ITEM"),
    ],
)
async def test_an_invalid_value_is_400_and_changes_nothing(chain, kind, value, code):
    fields = await define_all(chain)
    customer = await chain.customer()
    url = assignments_url(customer["id"])
    before = [assign(fields["TEXT"], "kept")]
    expect(await chain.client.put(url, json=before, headers=chain.key_a), 200)
    valid = "DATE" if kind == "BOOLEAN" else "BOOLEAN"
    body = [assign(fields[valid], VALID[valid]), assign(fields[kind], value)]
    response = await chain.client.put(url, json=body, headers=chain.key_a)
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == code
    assert response.json()["reference"] == "[1].value"
    assert DEFINITIONS[kind]["name"] in response.json()["errorMessage"]
    assert await assignments_shown(chain, customer["id"]) == before


async def test_the_longest_text_and_extreme_numbers_are_accepted(chain):
    fields = await define_all(chain)
    customer = await chain.customer()
    url = assignments_url(customer["id"])
    body = [assign(fields["NUMERIC"], "-" + "9" * 18), assign(fields["TEXT"], "ü" * 1000)]
    assert expect(await chain.client.put(url, json=body, headers=chain.key_a), 200) == body


async def test_unknown_and_repeated_fields_are_400(chain, client):
    fields = await define_all(chain)
    other = await create_tenant(client, chain.admin, "Other")
    theirs = expect(
        await client.post(
            f"/admin/v1/tenants/{other.tenant_id}/additional-information-fields",
            json={"name": "Theirs", "type": "TEXT"},
            headers=chain.admin,
        ),
        201,
    )
    customer = await chain.customer()
    url = assignments_url(customer["id"])
    for body, code in [
        (
            [{"additionalInformationFieldId": 987654, "value": "x"}],
            "ADDITIONAL_INFORMATION_FIELD_NOT_FOUND",
        ),
        ([assign(theirs, "x")], "ADDITIONAL_INFORMATION_FIELD_NOT_FOUND"),
        ([assign(fields["TEXT"], "a")] * 2, "DUPLICATE_ADDITIONAL_INFORMATION_FIELD"),
    ]:
        response = await client.put(url, json=body, headers=chain.key_a)
        assert response.status_code == 400, response.text
        assert response.json()["errorCode"] == code
        expected = f"[{len(body) - 1}].additionalInformationFieldId"
        assert response.json()["reference"] == expected
    malformed = await client.put(url, json=[{"value": "x"}], headers=chain.key_a)
    assert malformed.status_code == 400
    assert malformed.json()["errorCode"] == "VALIDATION_ERROR"


async def test_another_studios_customer_is_404_and_scopes_are_required(chain):
    fields = await define_all(chain)
    customer = await chain.customer(studio=chain.studio_b)
    body = [assign(fields["TEXT"], "x")]
    elsewhere = await chain.client.put(
        assignments_url(customer["id"]), json=body, headers=chain.key_a
    )
    assert elsewhere.status_code == 404
    assert elsewhere.json()["errorCode"] == "CUSTOMER_NOT_FOUND"
    reader = await chain.key(chain.studio_b, ["CUSTOMER_READ", "CUSTOMER_WRITE"])
    assert (await chain.client.get(FIELDS, headers=reader)).status_code == 403
    refused = await chain.client.put(assignments_url(customer["id"]), json=body, headers=reader)
    assert refused.status_code == 403
    assert refused.json()["errorCode"] == "MISSING_SCOPE"
    writer = await chain.key(chain.studio_b, ["ADDITIONAL_INFORMATION_WRITE"])
    assert (await chain.client.get(FIELDS, headers=writer)).status_code == 403
    allowed = await chain.client.put(assignments_url(customer["id"]), json=body, headers=writer)
    assert expect(allowed, 200) == body
    assert (await chain.client.get(FIELDS)).status_code == 401


async def test_creating_a_customer_stores_its_values(chain):
    fields = await define_all(chain)
    values = [assign(fields["NUMERIC"], "7"), assign(fields["BOOLEAN"], "false")]
    created = await chain.client.post(
        "/v1/customers/create",
        json={**SIGNUP, "additionalInformationFieldAssignments": values},
        headers=chain.key_a,
    )
    customer_id = expect(created, 200)["customerId"]
    assert await assignments_shown(chain, customer_id) == sorted(
        values, key=lambda v: v["additionalInformationFieldId"]
    )
    refused = await chain.client.post(
        "/v1/customers/create",
        json={**SIGNUP, "additionalInformationFieldAssignments": [assign(fields["DATE"], "soon")]},
        headers=chain.key_a,
    )
    assert refused.status_code == 400
    assert refused.json()["errorCode"] == "INVALID_ADDITIONAL_INFORMATION_DATE"
    assert refused.json()["reference"] == "additionalInformationFieldAssignments[0].value"
    customers = await chain.client.get(
        f"/admin/v1/tenants/{chain.tenant_id}/customers", headers=chain.admin
    )
    assert expect(customers, 200)["totalItems"] == 1


async def test_concurrent_puts_queue_and_leave_one_requests_values(chain):
    fields = await define_all(chain)
    customer = await chain.customer()
    url = assignments_url(customer["id"])
    bodies = [
        [assign(fields["NUMERIC"], str(n)), assign(fields["TEXT"], f"request {n}")]
        for n in range(10)
    ]
    responses = await asyncio.gather(
        *(chain.client.put(url, json=body, headers=chain.key_a) for body in bodies)
    )
    assert [r.status_code for r in responses] == [200] * len(bodies)
    assert await assignments_shown(chain, customer["id"]) in bodies


async def test_changes_are_audited(chain):
    fields = await define_all(chain)
    customer = await chain.customer()
    body = [assign(fields["TEXT"], "x")]
    expect(
        await chain.client.put(assignments_url(customer["id"]), json=body, headers=chain.key_a), 200
    )
    log = expect(
        await chain.client.get(
            f"/admin/v1/tenants/{chain.tenant_id}/audit-log", headers=chain.admin
        ),
        200,
    )
    latest = log["items"][0]
    assert latest["action"] == "customer.additional_information.set"
    assert latest["actor"].startswith("api_key:")
    assert latest["entityId"] == str(customer["id"])
    assert latest["details"] == {"additionalInformationFieldIds": [fields["TEXT"]["id"]]}
    created = [e for e in log["items"] if e["action"] == "additional_information_field.created"]
    assert len(created) == len(DEFINITIONS)
    assert all(e["actor"] == "admin:tester" for e in created)


# The operator's side


async def test_operators_create_list_and_get_fields(chain):
    fields = await define_all(chain)
    listed = expect(await chain.client.get(fields_url(chain), headers=chain.admin), 200)
    assert listed["totalItems"] == len(DEFINITIONS)
    assert listed["items"] == list(fields.values())
    list_field = fields["LIST"]
    one = await chain.client.get(fields_url(chain, list_field["id"]), headers=chain.admin)
    assert expect(one, 200) == list_field
    assert fields["TEXT"] == {
        "id": fields["TEXT"]["id"],
        "name": "Note",
        "type": "TEXT",
        "abbreviation": None,
        "listItems": None,
    }
    missing = await chain.client.get(fields_url(chain, 987654), headers=chain.admin)
    assert missing.status_code == 404
    assert missing.json()["code"] == "ADDITIONAL_INFORMATION_FIELD_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "L", "type": "LIST"}, 400, "ADDITIONAL_INFORMATION_LIST_ITEMS_REQUIRED"),
        (
            {"name": "L", "type": "LIST", "listItems": []},
            400,
            "ADDITIONAL_INFORMATION_LIST_ITEMS_REQUIRED",
        ),
        (
            {"name": "T", "type": "TEXT", "listItems": [{"name": "a"}]},
            400,
            "ADDITIONAL_INFORMATION_LIST_ITEMS_NOT_ALLOWED",
        ),
        (
            {"name": "L", "type": "LIST", "listItems": [{"name": "Gold"}, {"name": "gold "}]},
            400,
            "DUPLICATE_ADDITIONAL_INFORMATION_LIST_ITEM",
        ),
        ({"name": "X", "type": "COLOUR"}, 422, "VALIDATION_ERROR"),
        ({"name": "", "type": "TEXT"}, 422, "VALIDATION_ERROR"),
        ({"name": "X", "type": "TEXT", "abbreviation": "A" * 21}, 422, "VALIDATION_ERROR"),
        ({"name": "X", "type": "TEXT", "mandatory": True}, 422, "VALIDATION_ERROR"),
        ({"name": "Newsletter", "type": "TEXT"}, 409, "ADDITIONAL_INFORMATION_FIELD_EXISTS"),
    ],
)
async def test_bad_field_definitions_are_refused(chain, body, status, code):
    await define(chain, DEFINITIONS["BOOLEAN"])
    response = await chain.client.post(fields_url(chain), json=body, headers=chain.admin)
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_editing_list_items_keeps_the_values_of_kept_items(chain):
    fields = await define_all(chain)
    list_field = fields["LIST"]
    gold, silver = list_field["listItems"]
    keeps, loses = await chain.customer(), await chain.customer()
    for customer, item in ((keeps, gold), (loses, silver)):
        body = [assign(list_field, str(item["id"])), assign(fields["TEXT"], "t")]
        expect(
            await chain.client.put(assignments_url(customer["id"]), json=body, headers=chain.key_a),
            200,
        )
    change = {
        "name": "Tier",
        "abbreviation": "",
        "listItems": [{"name": "Bronze"}, {"id": gold["id"], "name": "Golden"}],
    }
    updated = expect(
        await chain.client.patch(
            fields_url(chain, list_field["id"]), json=change, headers=chain.admin
        ),
        200,
    )
    bronze = updated["listItems"][0]
    assert updated == {
        "id": list_field["id"],
        "name": "Tier",
        "type": "LIST",
        "abbreviation": None,
        "listItems": [bronze, {"id": gold["id"], "name": "Golden"}],
    }
    assert bronze["name"] == "Bronze"
    assert bronze["id"] not in {gold["id"], silver["id"]}
    text = assign(fields["TEXT"], "t")
    assert await assignments_shown(chain, keeps["id"]) == [
        assign(list_field, str(gold["id"])),
        text,
    ]
    assert await assignments_shown(chain, loses["id"]) == [text]
    stale = await chain.client.put(
        assignments_url(loses["id"]),
        json=[assign(list_field, str(silver["id"]))],
        headers=chain.key_a,
    )
    assert stale.status_code == 400
    assert stale.json()["errorCode"] == "INVALID_ADDITIONAL_INFORMATION_LIST_ITEM"


@pytest.mark.parametrize(
    ("kind", "change", "status", "code"),
    [
        (
            "LIST",
            {"listItems": [{"id": 987654, "name": "x"}]},
            400,
            "ADDITIONAL_INFORMATION_LIST_ITEM_NOT_FOUND",
        ),
        ("LIST", {"listItems": []}, 400, "ADDITIONAL_INFORMATION_LIST_ITEMS_REQUIRED"),
        (
            "TEXT",
            {"listItems": [{"name": "x"}]},
            400,
            "ADDITIONAL_INFORMATION_LIST_ITEMS_NOT_ALLOWED",
        ),
        ("TEXT", {"type": "LIST"}, 422, "VALIDATION_ERROR"),
        ("TEXT", {"name": None}, 422, "NULL_NOT_ALLOWED"),
        ("TEXT", {"name": "Newsletter"}, 409, "ADDITIONAL_INFORMATION_FIELD_EXISTS"),
    ],
)
async def test_bad_field_changes_are_refused(chain, kind, change, status, code):
    fields = await define_all(chain)
    response = await chain.client.patch(
        fields_url(chain, fields[kind]["id"]), json=change, headers=chain.admin
    )
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


async def test_deleting_a_field_removes_its_values(chain):
    fields = await define_all(chain)
    customer = await chain.customer()
    body = [
        assign(fields["LIST"], str(fields["LIST"]["listItems"][0]["id"])),
        assign(fields["TEXT"], "t"),
    ]
    expect(
        await chain.client.put(assignments_url(customer["id"]), json=body, headers=chain.key_a), 200
    )
    url = fields_url(chain, fields["LIST"]["id"])
    assert (await chain.client.delete(url, headers=chain.admin)).status_code == 204
    assert (await chain.client.get(url, headers=chain.admin)).status_code == 404
    assert (await chain.client.delete(url, headers=chain.admin)).status_code == 404
    assert await assignments_shown(chain, customer["id"]) == [assign(fields["TEXT"], "t")]
    listed = expect(await chain.client.get(FIELDS, headers=chain.key_a), 200)
    assert fields["LIST"]["id"] not in {f["id"] for f in listed}


async def test_operators_set_a_customers_values(chain):
    fields = await define_all(chain)
    customer = await chain.customer(studio=chain.studio_b)
    customer_url = f"/admin/v1/tenants/{chain.tenant_id}/customers/{customer['id']}"
    url = f"{customer_url}/additional-information-field-assignments"
    body = [assign(fields["DATE"], VALID["DATE"])]
    assert expect(await chain.client.put(url, json=body, headers=chain.admin), 200) == body
    assert await assignments_shown(chain, customer["id"], chain.key_b) == body
    bad = await chain.client.put(url, json=[assign(fields["DATE"], "x")], headers=chain.admin)
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_ADDITIONAL_INFORMATION_DATE"


async def test_another_tenants_operator_sees_no_fields(chain, client, settings, clock):
    fields = await define_all(chain)
    other = await create_tenant(client, chain.admin, "Other")
    bound = admin_headers(settings, clock, tenant_id=other.tenant_id)
    field_url = fields_url(chain, fields["TEXT"]["id"])
    customer = await chain.customer()
    values_url = (
        f"/admin/v1/tenants/{chain.tenant_id}/customers/{customer['id']}"
        "/additional-information-field-assignments"
    )
    for method, url, body in [
        ("GET", fields_url(chain), None),
        ("POST", fields_url(chain), DEFINITIONS["TEXT"]),
        ("GET", field_url, None),
        ("PATCH", field_url, {"name": "Mine"}),
        ("DELETE", field_url, None),
        ("PUT", values_url, []),
    ]:
        response = await client.request(method, url, json=body, headers=bound)
        assert response.status_code == 404, (method, url)
        assert response.json()["code"] == "TENANT_NOT_FOUND"
    across = await client.get(
        f"/admin/v1/tenants/{other.tenant_id}/additional-information-fields/{fields['TEXT']['id']}",
        headers=bound,
    )
    assert across.status_code == 404
    assert across.json()["code"] == "ADDITIONAL_INFORMATION_FIELD_NOT_FOUND"
    assert expect(await client.get(fields_url(chain), headers=chain.admin), 200)["totalItems"] == 5
