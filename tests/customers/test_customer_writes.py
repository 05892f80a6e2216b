"""Studio Open API: creating prospects, access mediums and access restrictions."""

from datetime import timedelta

import pytest

from tests.helpers import expect

SIGNUP = {
    "firstName": "Clara",
    "lastName": "Weiss",
    "dateOfBirth": "1995-06-30",
    "email": "Clara.Weiss@Example.org",
    "street": "Lindenweg",
    "houseNumber": "12a",
    "city": "Hamburg",
    "zipCode": "20095",
    "countryCode": "de",
    "language": {"languageCode": "DE"},
    "phoneNumberMobile": "+49 171 555",
    "documentIdentification": {"documentNumber": "X123", "documentType": "PASSPORT"},
}


async def test_create_customer_makes_a_prospect_in_the_calling_studio(chain, db):
    created = expect(
        await chain.client.post("/v1/customers/create", json=SIGNUP, headers=chain.key_a), 200
    )
    assert set(created) == {"customerId"}
    body = expect(
        await chain.client.get(f"/v1/customers/{created['customerId']}", headers=chain.key_a), 200
    )
    assert body["status"] == "PROSPECT"
    assert body["studioId"] == chain.studio_a
    assert body["email"] == "Clara.Weiss@example.org"
    assert body["country"] == "DE"
    assert body["preferredLanguage"] == {"languageCode": "de"}
    assert body["phonePrivateMobile"] == "+49 171 555"
    assert body["customerNumber"] == "1000"
    second = expect(
        await chain.client.post("/v1/customers/create", json=SIGNUP, headers=chain.key_a), 200
    )
    numbers = {
        expect(await chain.client.get(f"/v1/customers/{c}", headers=chain.key_a), 200)[
            "customerNumber"
        ]
        for c in (created["customerId"], second["customerId"])
    }
    assert numbers == {"1000", "1001"}
    found = await chain.client.post(
        "/v1/customers/search", json={"email": "clara.weiss@example.org"}, headers=chain.key_a
    )
    assert len(expect(found, 200)) == 2


async def test_members_the_reference_does_not_know_are_ignored_by_the_studio_surface_only(chain):
    """Here and in nested objects; the admin surface refuses them, nested ones included."""
    later = {**SIGNUP, "middleName": "Ines", "language": {"languageCode": "DE", "dialect": "x"}}
    created = expect(
        await chain.client.post("/v1/customers/create", json=later, headers=chain.key_a), 200
    )
    body = expect(
        await chain.client.get(f"/v1/customers/{created['customerId']}", headers=chain.key_a), 200
    )
    assert (body["firstName"], body["preferredLanguage"]) == ("Clara", {"languageCode": "de"})
    found = await chain.client.post(
        "/v1/customers/search", json={"lastName": "Weiss", "middleName": "x"}, headers=chain.key_a
    )
    assert [c["id"] for c in expect(found, 200)] == [created["customerId"]]
    refused = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/customers",
        json={
            "studioId": chain.studio_a,
            "firstName": "X",
            "lastName": "Y",
            "language": {"languageCode": "de", "dialect": "x"},
        },
        headers=chain.admin,
    )
    assert refused.status_code == 422
    assert [e["location"] for e in refused.json()["errors"]] == ["body.language.dialect"]


async def test_generated_numbers_skip_numbers_an_operator_gave(chain):
    await chain.customer(customerNumber="1000")
    created = expect(
        await chain.client.post("/v1/customers/create", json=SIGNUP, headers=chain.key_a), 200
    )
    body = expect(
        await chain.client.get(f"/v1/customers/{created['customerId']}", headers=chain.key_a), 200
    )
    assert body["customerNumber"] == "1001"
    duplicate = await chain.client.post(
        f"/admin/v1/tenants/{chain.tenant_id}/customers",
        json={
            "studioId": chain.studio_a,
            "firstName": "X",
            "lastName": "Y",
            "customerNumber": "1001",
        },
        headers=chain.admin,
    )
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "CUSTOMER_NUMBER_EXISTS"


@pytest.mark.parametrize(
    ("change", "code", "reference"),
    [
        ({"email": None}, "VALIDATION_ERROR", "body.email"),
        ({"firstName": ""}, "VALIDATION_ERROR", "body.firstName"),
        ({"email": "not-an-address"}, "INVALID_EMAIL", "body.email"),
        ({"countryCode": "DEU"}, "INVALID_COUNTRY_CODE", "body.countryCode"),
        (
            {"language": {"languageCode": "deu"}},
            "INVALID_LANGUAGE_CODE",
            "body.language.languageCode",
        ),
        ({"dateOfBirth": "2999-01-01"}, "INVALID_DATE_OF_BIRTH", "body.dateOfBirth"),
        ({"dateOfBirth": "1990-02-30"}, "VALIDATION_ERROR", "body.dateOfBirth"),
        ({"gender": "OTHER"}, "VALIDATION_ERROR", "body.gender"),
        ({"dateOfBirth": 0}, "VALIDATION_ERROR", "body.dateOfBirth"),
        ({"zipCode": 10115}, "VALIDATION_ERROR", "body.zipCode"),
        (
            {"documentIdentification": {"documentNumber": "1", "documentType": "LIBRARY_CARD"}},
            "VALIDATION_ERROR",
            "body.documentIdentification.documentType",
        ),
        (
            {
                "additionalInformationFieldAssignments": [
                    {"additionalInformationFieldId": 9, "value": "x"}
                ]
            },
            "ADDITIONAL_INFORMATION_FIELD_NOT_FOUND",
            "additionalInformationFieldAssignments[0].additionalInformationFieldId",
        ),
    ],
)
async def test_create_customer_validation(chain, change, code, reference):
    body = {k: v for k, v in {**SIGNUP, **change}.items() if v is not None}
    response = await chain.client.post("/v1/customers/create", json=body, headers=chain.key_a)
    assert response.status_code == 400, response.text
    assert response.json()["errorCode"] == code
    assert response.json()["reference"] == reference


async def test_create_customer_needs_customer_write(chain):
    key = await chain.key(chain.studio_a, ["CUSTOMER_READ"])
    response = await chain.client.post("/v1/customers/create", json=SIGNUP, headers=key)
    assert response.status_code == 403


async def test_access_mediums_are_added_updated_and_deleted(chain):
    customer = await chain.customer()
    base = f"/v1/customers/{customer['id']}/access-mediums"
    added = expect(
        await chain.client.post(base, json={"type": "PIN", "value": "1234"}, headers=chain.key_a),
        200,
    )
    assert added["type"] == "PIN"
    assert added["value"] == "1234"
    updated = expect(
        await chain.client.put(
            f"{base}/{added['id']}", json={"value": "98765"}, headers=chain.key_a
        ),
        200,
    )
    assert updated == {"id": added["id"], "type": "PIN", "value": "98765"}
    shown = expect(
        await chain.client.get(f"/v1/customers/{customer['id']}", headers=chain.key_a), 200
    )
    assert shown["accessMediums"] == [updated]
    deleted = await chain.client.delete(f"{base}/{added['id']}", headers=chain.key_a)
    assert deleted.status_code == 200
    again = await chain.client.delete(f"{base}/{added['id']}", headers=chain.key_a)
    assert again.status_code == 404
    assert again.json()["errorCode"] == "ACCESS_MEDIUM_NOT_FOUND"


async def test_the_deprecated_put_adds_an_access_medium(chain):
    customer = await chain.customer()
    response = await chain.client.put(
        f"/v1/customers/{customer['id']}/access-medium",
        json={"type": "WALLET_PASS", "value": "pass-1"},
        headers=chain.key_a,
    )
    assert expect(response, 200)["type"] == "WALLET_PASS"


async def test_an_access_medium_value_is_unique_per_tenant_and_type(chain):
    first, second = await chain.customer(), await chain.customer(studio=chain.studio_b)
    card = {"type": "CARD_NUMBER", "value": "777"}
    expect(
        await chain.client.post(
            f"/v1/customers/{first['id']}/access-mediums", json=card, headers=chain.key_a
        ),
        200,
    )
    clash = await chain.client.post(
        f"/v1/customers/{second['id']}/access-mediums", json=card, headers=chain.key_b
    )
    assert clash.status_code == 409
    assert clash.json()["errorCode"] == "ACCESS_MEDIUM_EXISTS"
    as_barcode = {"type": "BARCODE", "value": "777"}
    ok = await chain.client.post(
        f"/v1/customers/{second['id']}/access-mediums", json=as_barcode, headers=chain.key_b
    )
    assert ok.status_code == 200
    pin = expect(
        await chain.client.post(
            f"/v1/customers/{second['id']}/access-mediums",
            json={"type": "PIN", "value": "4444"},
            headers=chain.key_b,
        ),
        200,
    )
    expect(
        await chain.client.post(
            f"/v1/customers/{first['id']}/access-mediums",
            json={"type": "PIN", "value": "5555"},
            headers=chain.key_a,
        ),
        200,
    )
    renamed = await chain.client.put(
        f"/v1/customers/{second['id']}/access-mediums/{pin['id']}",
        json={"value": "5555"},
        headers=chain.key_b,
    )
    assert renamed.status_code == 409


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"value": "1234"}, "ACCESS_MEDIUM_TYPE_REQUIRED"),
        ({"type": "PIN"}, "ACCESS_MEDIUM_VALUE_REQUIRED"),
        ({"type": "PIN", "value": "12"}, "INVALID_PIN"),
        ({"type": "PIN", "value": "12ab"}, "INVALID_PIN"),
        ({"type": "CARD_NUMBER", "value": "0A0B"}, "INVALID_CARD_NUMBER"),
        ({"type": "BADGE", "value": "1"}, "VALIDATION_ERROR"),
    ],
)
async def test_bad_access_mediums_are_400(chain, body, code):
    customer = await chain.customer()
    response = await chain.client.post(
        f"/v1/customers/{customer['id']}/access-mediums", json=body, headers=chain.key_a
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == code


async def test_another_customers_medium_cannot_be_touched(chain):
    owner, other = await chain.customer(), await chain.customer()
    medium = expect(
        await chain.client.post(
            f"/v1/customers/{owner['id']}/access-mediums",
            json={"type": "BARCODE", "value": "b"},
            headers=chain.key_a,
        ),
        200,
    )
    path = f"/v1/customers/{other['id']}/access-mediums/{medium['id']}"
    assert (
        await chain.client.put(path, json={"value": "c"}, headers=chain.key_a)
    ).status_code == 404
    assert (await chain.client.delete(path, headers=chain.key_a)).status_code == 404
    medium_key = await chain.key(chain.studio_a, ["CUSTOMER_READ"])
    forbidden = await chain.client.post(
        f"/v1/customers/{owner['id']}/access-mediums",
        json={"type": "PIN", "value": "1234"},
        headers=medium_key,
    )
    assert forbidden.status_code == 403


async def _refusal(chain, customer_id):
    body = expect(await chain.client.get(f"/v1/customers/{customer_id}", headers=chain.key_a), 200)
    return body["accessRefusal"], body["accessRestrictions"]


async def test_access_restriction_sets_access_refusal(chain, clock):
    customer = await chain.customer()
    path = f"/v1/customers/{customer['id']}/access-restrictions"
    today = clock.now().date()
    assert await _refusal(chain, customer["id"]) == (False, [])
    forever = expect(
        await chain.client.put(path, json={"reason": "Unpaid fees"}, headers=chain.key_a), 200
    )
    assert forever == {"reason": "Unpaid fees"}
    assert await _refusal(chain, customer["id"]) == (True, [forever])
    later = {
        "reason": "Renovation",
        "startDate": str(today + timedelta(days=3)),
        "endDate": str(today + timedelta(days=5)),
    }
    expect(await chain.client.put(path, json=later, headers=chain.key_a), 200)
    assert await _refusal(chain, customer["id"]) == (False, [later])
    clock.advance(timedelta(days=4))
    assert (await _refusal(chain, customer["id"]))[0] is True
    clock.advance(timedelta(days=2))
    assert (await _refusal(chain, customer["id"]))[0] is False
    assert (await chain.client.delete(path, headers=chain.key_a)).status_code == 200
    assert await _refusal(chain, customer["id"]) == (False, [])
    gone = await chain.client.delete(path, headers=chain.key_a)
    assert gone.status_code == 404
    assert gone.json()["errorCode"] == "ACCESS_RESTRICTION_NOT_FOUND"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"reason": "x", "startDate": "2026-01-01"}, "ACCESS_RESTRICTION_DATES_INCOMPLETE"),
        ({"reason": "x", "endDate": "2026-01-01"}, "ACCESS_RESTRICTION_DATES_INCOMPLETE"),
        (
            {"reason": "x", "startDate": "2026-02-01", "endDate": "2026-01-01"},
            "ACCESS_RESTRICTION_DATES_REVERSED",
        ),
        ({"startDate": "2026-01-01", "endDate": "2026-01-02"}, "VALIDATION_ERROR"),
        ({"reason": ""}, "VALIDATION_ERROR"),
    ],
)
async def test_bad_access_restrictions_are_400(chain, body, code):
    customer = await chain.customer()
    response = await chain.client.put(
        f"/v1/customers/{customer['id']}/access-restrictions", json=body, headers=chain.key_a
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == code


async def test_studio_changes_are_audited_with_the_key(chain):
    customer = await chain.customer()
    await chain.client.put(
        f"/v1/customers/{customer['id']}/access-restrictions",
        json={"reason": "r"},
        headers=chain.key_a,
    )
    log = expect(
        await chain.client.get(
            f"/admin/v1/tenants/{chain.tenant_id}/audit-log", headers=chain.admin
        ),
        200,
    )
    latest = log["items"][0]
    assert latest["action"] == "customer.access_restriction.set"
    assert latest["actor"].startswith("api_key:")
    assert latest["entityId"] == str(customer["id"])
