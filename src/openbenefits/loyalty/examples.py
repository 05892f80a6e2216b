"""Request and answer examples of every loyalty operation, for the OpenAPI document: seed 003's
own where it gives one (its program, version, contract, consumer, personnel-ticket and
entitlement examples), written in the formats the service answers (instants in UTC with
milliseconds, durations in their normal form). tests/loyalty/test_examples.py holds each to its
operation's schema and sends the requests to the service."""

from typing import Any

from fastapi import FastAPI

from openbenefits.kit.routing import extend_openapi

PREFIX = "/customers/v2/benefits"
_UUID = "f1d419bc-e88e-43c9-bf16-6943921a9580"
_CLIENT = "6BiN61j5CQBeU7w4fa72x6pIqdmhcEO6"

_DESCRIPTION = {
    "languageCode": "ENG",
    "description": "Show your ticket, get free coffee",
    "displayName": "Demo Coffee Program",
    "createdAt": "2020-03-13T10:26:44.118Z",
    "createdBy": _CLIENT,
    "lastChangedAt": "2020-03-13T10:26:44.118Z",
    "lastChangedBy": _CLIENT,
}
_VERSION = {
    "id": 2324,
    "organisationId": 20,
    "loyaltyProgramId": 6,
    "internalDescription": "Free coffee program",
    "productId": "ENT:DemoProduct:Demo",
    "productVersion": "ENT:ProductVersion:V1",
    "startDate": "2020-03-13T10:26:44.118Z",
    "endDate": "2030-11-22T01:55:56.000Z",
    "usageValidityPeriod": "P365D",
    "defaultCouponsLimit": None,
    "couponValidityPeriod": None,
    "versionNumber": 1,
    "status": "CURRENT",
    "descriptions": [_DESCRIPTION],
}
_PROGRAM = {
    **_VERSION,
    "versionId": 2324,
    "loyaltyProgramType": "TIMED",
    "loyaltyProgramCode": None,
    "allowOtherOrganisations": False,
    "createdAt": "2020-03-13T10:26:44.118Z",
    "createdBy": _CLIENT,
}
_CONSUMER = {
    "customerOrganisationId": 20,
    "customerNumber": 1234567,
    "customerRef": "073R41D4R",
    "isBlocked": False,
    "isContractHolder": True,
    "createdAt": "2020-03-13T09:31:24.000Z",
    "createdBy": _CLIENT,
    "lastChangedAt": "2020-03-13T09:31:24.000Z",
    "lastChangedBy": _CLIENT,
}
_CONTRACT = {
    "uuid": _UUID,
    "loyaltyProgramId": 6,
    "loyaltyProgramType": "TIMED",
    "organisationId": 20,
    "consumableFrom": "2019-11-01T09:15:30.000Z",
    "expirationDate": "2040-11-01T09:15:30.000Z",
    "externalRef": "ABCD-EFGH-1234",
    "policies": [{"id": 969, "key": "name"}],
    "couponsLimit": None,
    "remainingCoupons": None,
    "contractParent": None,
    "pointsType": None,
    "pointsBalance": None,
    "contractConsumers": [_CONSUMER],
    "orderLineEvents": None,
    "createdAt": "2020-03-13T09:29:04.000Z",
    "createdBy": _CLIENT,
    "lastChangedAt": "2020-03-13T09:31:24.000Z",
    "lastChangedBy": _CLIENT,
}
_GIFT_CARD = {
    **_CONTRACT,
    "uuid": "2c27bd7e-2b4d-4144-915b-fcbc8fe3807f",
    "loyaltyProgramType": "POINTS",
    "externalRef": "GIFT-0001",
    "policies": [],
    "pointsType": "NOK",
    "pointsBalance": "450.10",
    "contractConsumers": None,
}
_POINTS = {
    "id": 7001,
    "contractUUID": _GIFT_CARD["uuid"],
    "transactionType": "WITHDRAWAL",
    "pointsType": "NOK",
    "amount": "49.90",
    "balanceAfter": "450.10",
    "externalRef": "O-1",
    "refundOf": None,
    "createdAt": "2020-03-14T08:00:00.000Z",
    "createdBy": _CLIENT,
}
_ORDER_LINE = {
    "id": 88,
    "contractUUID": _UUID,
    "couponsContractUUID": None,
    "orderId": "O-1",
    "orderLineId": "1",
    "discount": "20.00",
    "currency": "NOK",
    "occurredAt": "2020-03-14T08:00:00.000Z",
    "createdAt": "2020-03-14T08:00:00.000Z",
    "createdBy": _CLIENT,
}
_AGE_BANDS = {
    "bands": [
        {"passengerCategory": "INFANT", "fromAge": 0},
        {"passengerCategory": "CHILD", "fromAge": 6},
        {"passengerCategory": "YOUTH", "fromAge": 16},
        {"passengerCategory": "ADULT", "fromAge": 20},
    ],
    "seniorCitizenFromAge": 67,
}


def _entitlement(product: str, uuid: str, ref: str, owner: int, name: str, born: Any) -> Any:
    return {
        "productId": product,
        "productVersion": "ENT:Version:1",
        "contractUUID": uuid,
        "contractExternalRef": ref,
        "contractOwnerCustomerNumber": owner,
        "contractOwnerDisplayName": name,
        "contractOwnerBirthDate": dict(zip(("year", "month", "day"), born, strict=True)),
        "contractValidFrom": "2020-01-01T00:00:00.000Z",
        "contractValidTo": "2030-01-01T00:00:00.000Z",
        "couponsLimit": None,
        "remainingCoupons": None,
        "contractParent": None,
        "passengerCategory": "ADULT" if born[0] < 2000 else "YOUTH",
        "isSeniorCitizen": False,
    }


def _page(*items: Any) -> Any:
    return {"items": list(items), "page": 1, "perPage": 20, "totalItems": len(items)}


_CONTRACT_PATH = f"{PREFIX}/contracts/{{uuid}}"
_CONSUMER_PATH = f"{_CONTRACT_PATH}/contract-consumer/{{customerOrganisationId}}/{{customerNumber}}"

# (method, path): (request body or None, answer or None). The seed's examples first.
EXAMPLES: dict[tuple[str, str], tuple[Any, Any]] = {
    ("post", f"{PREFIX}/loyaltyprograms"): (
        {
            "loyaltyProgramType": "TIMED",
            "productId": "ENT:DemoProduct:Demo",
            "productVersion": "ENT:ProductVersion:V1",
            "internalDescription": "Free coffee program",
            "startDate": "2020-03-13T10:26:44.118Z",
            "endDate": "2030-11-22T01:55:56+00:00",
            "usageValidityPeriod": "P365D",
            "descriptions": [
                {
                    "languageCode": "ENG",
                    "description": "Show your ticket, get free coffee",
                    "displayName": "Demo Coffee Program",
                }
            ],
        },
        _PROGRAM,
    ),
    ("post", f"{PREFIX}/loyaltyprograms/{{loyaltyProgramId}}/versions"): (
        {
            "descriptions": [
                {"languageCode": "NOB", "description": "Reis Kundekort gir deg 20% rabatt"}
            ],
            "startDate": "2030-12-03T10:15:30+01:00",
            "endDate": "2035-12-03T10:15:30+01:00",
            "usageValidityPeriod": "P3DT12H30M5S",
            "productVersion": "ENT:Version:V2",
        },
        {
            **_VERSION,
            "id": 2325,
            "productVersion": "ENT:Version:V2",
            "startDate": "2030-12-03T09:15:30.000Z",
            "endDate": "2035-12-03T09:15:30.000Z",
            "usageValidityPeriod": "P3DT12H30M5S",
            "versionNumber": 2,
            "status": "DRAFT",
            "descriptions": [
                {
                    **_DESCRIPTION,
                    "languageCode": "NOB",
                    "description": "Reis Kundekort gir deg 20% rabatt",
                    "displayName": None,
                }
            ],
        },
    ),
    ("post", f"{PREFIX}/loyaltyprograms/{{loyaltyProgramId}}/contracts"): (
        {
            "consumableFrom": "2019-11-01T10:15:30+01:00",
            "customerNumber": 1234567,
            "customerRef": "073R41D4R",
            "externalRef": "ABCD-EFGH-1234",
            "policies": [{"key": "name", "value": "Anders"}],
            "expirationDate": "2040-11-01T10:15:30+01:00",
        },
        _CONTRACT,
    ),
    ("post", f"{_CONTRACT_PATH}/contract-consumer"): (
        {
            "customerOrganisationId": 20,
            "customerNumber": 1234567,
            "customerRef": "073R41D4R",
            "isContractHolder": True,
            "policyValidationProperties": {"name": "Anders"},
        },
        _CONSUMER,
    ),
    ("post", f"{PREFIX}/contracts/claim-personnel-ticket"): (
        {"externalReference": "ABCD-EF12-3456-GH45", "customerNumber": 1234567},
        {
            "externalReference": "ABCD-EF12-3456-GH45",
            "customerNumber": 1234567,
            "contractUUIDs": ["058a9dfa-187e-4443-8660-29d8879c146a"],
        },
    ),
    ("get", f"{PREFIX}/entitlements/{{customerNumber}}/by-customer-number"): (
        None,
        [
            _entitlement(
                "ENT:EntitlementProduct:levelA2",
                "058a9dfa-187e-4443-8660-29d8879c146a",
                "ABCD-DEFG-GH12",
                4567891,
                "Anders",
                (1986, 11, 23),
            ),
            _entitlement(
                "ENT:EntitlementProduct:levelA2",
                "47db2f5f-bf14-4c34-9856-51ba4a213cbe",
                "1234-ABCF-3456",
                4585692,
                "Josefine",
                (2006, 3, 2),
            ),
        ],
    ),
    ("get", f"{PREFIX}/loyaltyprograms"): (None, _page(_PROGRAM)),
    ("get", f"{PREFIX}/loyaltyprograms/{{loyaltyProgramId}}"): (None, _PROGRAM),
    ("get", f"{PREFIX}/loyaltyprograms/{{loyaltyProgramId}}/versions"): (None, [_VERSION]),
    ("post", f"{PREFIX}/loyaltyprograms/redeem"): (
        {"loyaltyProgramCode": "20Coffee", "customerNumber": 1234567, "customerRef": "073R41D4R"},
        {**_CONTRACT, "externalRef": None, "policies": []},
    ),
    ("get", f"{PREFIX}/contracts"): (None, _page(_CONTRACT)),
    ("get", _CONTRACT_PATH): (None, _CONTRACT),
    ("put", _CONSUMER_PATH): ({"isBlocked": True}, {**_CONSUMER, "isBlocked": True}),
    ("delete", _CONSUMER_PATH): (None, None),
    ("post", f"{_CONTRACT_PATH}/order-line-events"): (
        {"orderId": "O-1", "orderLineId": "1", "discount": "20.00", "currency": "NOK"},
        _ORDER_LINE,
    ),
    ("post", f"{_CONTRACT_PATH}/points-transactions"): (
        {
            "transactionType": "WITHDRAWAL",
            "pointsType": "NOK",
            "amount": "49.90",
            "externalRef": "O-1",
        },
        _POINTS,
    ),
    ("get", f"{_CONTRACT_PATH}/points-transactions"): (None, _page(_POINTS)),
    ("get", f"{_CONTRACT_PATH}/points-balance"): (
        None,
        {"contractUUID": _GIFT_CARD["uuid"], "pointsType": "NOK", "balance": "450.10"},
    ),
    ("get", f"{PREFIX}/contract-consumers/{{customerNumber}}/contracts"): (None, _page(_CONTRACT)),
    ("post", f"{PREFIX}/contracts/validate-consumptions"): (
        {
            "travelDate": "2020-03-14",
            "consumptions": [
                {"contractUUID": _UUID, "customerNumber": 1234567},
                {"contractUUID": "47db2f5f-bf14-4c34-9856-51ba4a213cbe", "customerNumber": 1234567},
            ],
        },
        {
            "code": 3102,
            "message": "Some of the passed contracts are unknown.",
            "consumptions": [
                {
                    "contractUUID": _UUID,
                    "customerNumber": 1234567,
                    "code": 3101,
                    "message": "Ok. All are valid.",
                },
                {
                    "contractUUID": "47db2f5f-bf14-4c34-9856-51ba4a213cbe",
                    "customerNumber": 1234567,
                    "code": 3102,
                    "message": "Some of the passed contracts are unknown.",
                },
            ],
        },
    ),
    ("get", f"{PREFIX}/age-bands"): (None, _AGE_BANDS),
    ("put", f"{PREFIX}/age-bands"): (_AGE_BANDS, _AGE_BANDS),
}


def declare_examples(app: FastAPI) -> None:
    """Puts each loyalty operation's examples into the OpenAPI document: its request body's
    and its success answer's."""
    extend_openapi(app, _declare)


def _declare(document: dict[str, Any]) -> None:
    for (method, path), (request, answer) in EXAMPLES.items():
        operation = document["paths"][path][method]
        if request is not None:
            operation["requestBody"]["content"]["application/json"]["example"] = request
        if answer is not None:
            success = next(r for s, r in operation["responses"].items() if s[0] == "2")
            success["content"]["application/json"]["example"] = answer
