"""Studio Open API: listing, reading, looking up and searching customers."""

import pytest
from fastapi.routing import APIRoute, iter_route_contexts

from openbenefits.customers.service import IDENTIFIER_PARAMETERS
from tests.helpers import expect


async def test_customers_are_listed_in_keyset_slices(chain):
    members = [(await chain.customer(lastName=f"M{n:03}"))["id"] for n in range(120)]
    await chain.customer(status="PROSPECT")
    await chain.customer(studio=chain.studio_b)
    seen, offset, pages = [], None, 0
    while True:
        params = {"sliceSize": 50, **({"offset": offset} if offset else {})}
        page = expect(
            await chain.client.get("/v1/customers", params=params, headers=chain.key_a), 200
        )
        seen += [c["id"] for c in page["result"]]
        pages += 1
        offset = page["offset"]
        if not page["hasNext"]:
            break
    assert pages == 3
    assert seen == members
    assert offset == str(members[-1])


async def test_slice_by_status_and_deprecated_offset(chain):
    await chain.customer()
    prospect = await chain.customer(status="PROSPECT")
    page = expect(
        await chain.client.get(
            "/v1/customers", params={"customerStatus": "PROSPECT"}, headers=chain.key_a
        ),
        200,
    )
    assert [c["id"] for c in page["result"]] == [prospect["id"]]
    assert page["result"][0]["status"] == "PROSPECT"
    after = expect(
        await chain.client.get(
            "/v1/customers",
            params={"customerStatus": "PROSPECT", "lastOffsetId": prospect["id"]},
            headers=chain.key_a,
        ),
        200,
    )
    assert after == {"result": [], "hasNext": False, "offset": str(prospect["id"])}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"sliceSize": 10}, "VALIDATION_ERROR"),
        ({"sliceSize": 501}, "VALIDATION_ERROR"),
        ({"customerStatus": "FORMER_MEMBER"}, "VALIDATION_ERROR"),
        ({"offset": "abc"}, "INVALID_OFFSET"),
        ({"offset": "²"}, "INVALID_OFFSET"),
        ({"offset": "9" * 30}, "INVALID_OFFSET"),
        ({"cardNumberFormat": "OCTAL"}, "VALIDATION_ERROR"),
    ],
)
async def test_bad_slice_parameters_are_400(chain, params, code):
    response = await chain.client.get("/v1/customers", params=params, headers=chain.key_a)
    assert response.status_code == 400
    assert response.json()["errorCode"] == code


async def test_customer_by_id_shows_the_reference_shape(chain, clock):
    created = await chain.customer(
        email="anna@example.org",
        dateOfBirth="1990-04-01",
        gender="FEMALE",
        street="Hauptstr.",
        houseNumber="5",
        zipCode="10115",
        city="Berlin",
        country="DE",
        phonePrivateMobile="+49 170 1234567",
        language={"languageCode": "de", "countryCode": "DE"},
        debtorId="D-77",
        iban="DE89370400440532013000",
        bankName="Demo Bank",
    )
    body = expect(
        await chain.client.get(f"/v1/customers/{created['id']}", headers=chain.key_a), 200
    )
    assert body["id"] == created["id"]
    assert body["status"] == "MEMBER"
    assert body["accessRefusal"] is False
    assert body["studioId"] == chain.studio_a
    assert body["preferredLanguage"] == {"languageCode": "de", "countryCode": "DE"}
    assert body["bankAccount"] == {"bankName": "Demo Bank", "iban": "DE89370400440532013000"}
    assert body["customerNumber"] == "1000"
    assert len(body["uuid"]) == 36
    assert "imageUrl" not in body  # absent fields are left out, never null
    assert None not in body.values()


async def test_customers_of_another_studio_or_tenant_are_not_found(chain, client, settings, clock):
    in_b = await chain.customer(studio=chain.studio_b)
    for customer_id in (in_b["id"], 999_999):
        response = await client.get(f"/v1/customers/{customer_id}", headers=chain.key_a)
        assert response.status_code == 404
        assert response.json()["errorCode"] == "CUSTOMER_NOT_FOUND"
    assert (await client.get(f"/v1/customers/{in_b['id']}", headers=chain.key_b)).status_code == 200
    bad = await client.get("/v1/customers/abc", headers=chain.key_a)
    assert bad.status_code == 400


async def test_reading_needs_customer_read(chain):
    key = await chain.key(chain.studio_a, ["CHECKIN_READ"])
    customer = await chain.customer()
    for path in ("/v1/customers", f"/v1/customers/{customer['id']}", "/v1/customers/by?barcode=x"):
        response = await chain.client.get(path, headers=key)
        assert response.status_code == 403, path
    search = await chain.client.post("/v1/customers/search", json={"lastName": "B"}, headers=key)
    assert search.status_code == 403


async def _add_medium(chain, customer_id, kind, value):
    return await chain.client.post(
        f"/v1/customers/{customer_id}/access-mediums",
        json={"type": kind, "value": value},
        headers=chain.key_a,
    )


@pytest.mark.parametrize(
    ("params", "found"),
    [
        ({"cardNumber": "168496141"}, True),
        ({"cardNumber": "0A0B0C0D", "cardNumberFormat": "HEX_MSB"}, True),
        ({"cardNumber": "0d0c0b0a", "cardNumberFormat": "HEX_LSB"}, True),
        ({"cardNumber": "0A0B0C0D", "cardNumberFormat": "HEX_LSB"}, False),
        ({"barcode": "BC-1"}, True),
        ({"customerNumber": "C-42"}, True),
        ({"debtorId": "D-1"}, True),
        ({"debtorId": "D-2"}, False),
    ],
)
async def test_customer_by_identifier(chain, params, found):
    customer = await chain.customer(customerNumber="C-42", debtorId="D-1")
    expect(await _add_medium(chain, customer["id"], "CARD_NUMBER", "168496141"), 200)
    expect(await _add_medium(chain, customer["id"], "BARCODE", "BC-1"), 200)
    response = await chain.client.get("/v1/customers/by", params=params, headers=chain.key_a)
    if found:
        assert expect(response, 200)["id"] == customer["id"]
    else:
        assert response.status_code == 404


async def test_customer_by_qr_code_uuid_and_not_in_another_studio(chain):
    customer = await chain.customer()
    found = await chain.client.get(
        "/v1/customers/by", params={"qrCodeUuid": customer["uuid"]}, headers=chain.key_a
    )
    assert expect(found, 200)["id"] == customer["id"]
    elsewhere = await chain.client.get(
        "/v1/customers/by", params={"qrCodeUuid": customer["uuid"]}, headers=chain.key_b
    )
    assert elsewhere.status_code == 404


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, "EXACTLY_ONE_IDENTIFIER_REQUIRED"),
        ({"barcode": "x", "debtorId": "y"}, "EXACTLY_ONE_IDENTIFIER_REQUIRED"),
        ({"cardNumber": "12AB"}, "INVALID_CARD_NUMBER"),
        ({"cardNumber": "XYZ", "cardNumberFormat": "HEX_MSB"}, "INVALID_CARD_NUMBER"),
    ],
)
async def test_bad_lookups_are_400(chain, params, code):
    response = await chain.client.get("/v1/customers/by", params=params, headers=chain.key_a)
    assert response.status_code == 400
    assert response.json()["errorCode"] == code


async def test_card_numbers_are_shown_in_the_requested_format(chain):
    customer = await chain.customer()
    expect(await _add_medium(chain, customer["id"], "CARD_NUMBER", "168496141"), 200)
    for fmt, shown in (("DECIMAL", "168496141"), ("HEX_MSB", "0A0B0C0D"), ("HEX_LSB", "0D0C0B0A")):
        body = expect(
            await chain.client.get(
                f"/v1/customers/{customer['id']}",
                params={"cardNumberFormat": fmt},
                headers=chain.key_a,
            ),
            200,
        )
        assert body["cardNumbers"] == [shown]
        assert body["accessMediums"][0]["value"] == shown


async def test_search_matches_name_prefixes_and_exact_email_and_birth_date(chain):
    anna = await chain.customer(
        firstName="Anna", lastName="Müller", email="anna@example.org", dateOfBirth="1990-01-02"
    )
    await chain.customer(firstName="Annabel", lastName="Schmidt", email="bel@example.org")
    await chain.customer(firstName="Bob", lastName="Müllerson")
    await chain.customer(studio=chain.studio_b, firstName="Anna", lastName="Müller")

    async def search(**criteria):
        response = await chain.client.post(
            "/v1/customers/search", json=criteria, headers=chain.key_a
        )
        return sorted(c["firstName"] for c in expect(response, 200))

    assert await search(firstName="ann") == ["Anna", "Annabel"]
    assert await search(lastName="MÜLL") == ["Anna", "Bob"]
    assert await search(firstName="Anna", lastName="Mü") == ["Anna"]
    assert await search(email="ANNA@example.org") == ["Anna"]
    assert await search(email="anna@example") == []
    assert await search(dateOfBirth="1990-01-02") == ["Anna"]
    assert await search(lastName="Z") == []
    assert anna["id"]


async def test_an_empty_search_is_400(chain):
    for body in ({}, {"cardNumberFormat": "HEX_MSB"}, {"firstName": "  "}):
        response = await chain.client.post("/v1/customers/search", json=body, headers=chain.key_a)
        assert response.status_code == 400
        assert response.json()["errorCode"] == "EMPTY_SEARCH"


def _identifier_lookups(app) -> list[tuple[str, tuple[str, ...]]]:
    """Every studio GET that looks a customer up by one of several optional identifiers, with
    the ones it takes, in order."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or "GET" not in route.methods:
            continue
        names = {
            param.alias
            for param in route.dependant.query_params
            if not param.field_info.is_required()
        }
        taken = tuple(name for name in IDENTIFIER_PARAMETERS if name in names)
        if route.path.startswith("/v1/") and taken:
            found.append((route.path, taken))
    return found


async def test_a_lookup_without_an_identifier_names_only_the_ones_it_takes(app, chain):
    lookups = _identifier_lookups(app)
    assert {path for path, _ in lookups} >= {
        "/v1/customers/by",
        "/v1/customers/measurement/latest",
        "/v1/customers/contracts/by",
    }
    for path, taken in lookups:
        response = await chain.client.get(path, headers=chain.key_a)
        assert response.status_code == 400, path
        body = response.json()
        assert body["errorCode"] == "EXACTLY_ONE_IDENTIFIER_REQUIRED", path
        assert body["errorMessage"] == f"Give exactly one of {', '.join(taken)}.", path
