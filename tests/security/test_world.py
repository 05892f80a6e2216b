"""The isolation matrix's fixture: two worlds built in one database, each with a value of its
own for every id-like parameter of the app, each value reachable by its owner."""

import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI

from openbenefits.config import Settings
from openbenefits.kit.clock import FixedClock
from tests.customers.uploads import PDF
from tests.helpers import expect
from tests.loyalty.conftest import BASE as LOYALTY
from tests.security.world import TenantWorld, build_tenant, token_id

# The names the isolation matrix addresses rows by (beyond the route table's own).
REQUIRED = {
    "tenantId",
    "studioId",
    "partnerId",
    "integrationId",
    "partnerIntegrationId",
    "apiKeyId",
    "oauthClientId",
    "customerId",
    "idlePeriodId",
    "checkInId",
    "rateId",
    "paymentFrequencyId",
    "contractId",
    "moduleId",
    "additionalModuleId",
    "moduleContractId",
    "additionalModuleContractId",
    "fieldId",
    "listItemId",
    "cancelationReasonId",
    "subscriptionId",
    "deliveryId",
    "benefitId",
    "grantId",
    "benefitKey",
    "usageId",
    "id",
    "accessMediumId",
    "loyaltyProgramId",
    "uuid",
    "contractUUID",
    "customerOrganisationId",
    "customerNumber",
    "cardNumber",
    "barcode",
    "entityId",
    "externalRef",
    "externalReference",
    "loyaltyProgramCode",
}
# Query parameters that name a row (the rest page, sort, filter by kind or format).
ID_LIKE = re.compile(r"(Id|Ids|Number|UUID|Uuid|Ref|Reference|Key|Code)$|^(uuid|id|key|barcode)$")
NOT_AN_ID = {"lastOffsetId"}  # a paging cursor


def addressing_names(app: FastAPI) -> set[str]:
    """Every path parameter of the app, and every query parameter that names a row."""
    names = set()
    for operations in app.openapi()["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                name = parameter["name"]
                if parameter["in"] == "path" or (
                    parameter["in"] == "query" and ID_LIKE.search(name)
                ):
                    names.add(name)
    return names - NOT_AN_ID


Check = Callable[[], Awaitable[bool]]


async def _is(answer: Awaitable[Any], value: object, member: str = "id") -> bool:
    """Whether the answer's ``member`` is ``value``."""
    return bool((await answer)[member] == value)


async def _among(answer: Awaitable[Any], value: object, *path: str, member: str = "id") -> bool:
    """Whether ``value`` is the ``member`` of an item of the list at ``path`` in the answer."""
    items = await answer
    for step in path:
        items = items[step]
    return value in [item[member] for item in items]


def owner_checks(client: httpx.AsyncClient, w: TenantWorld) -> dict[str, Check]:
    """For each id, requests with the owner's credentials that answer 200 and show it."""
    ids = w.ids

    async def get(path: str, headers: dict[str, str], **params: Any) -> Any:
        return expect(await client.get(path, params=params, headers=headers), 200)

    def admin(path: str, **params: Any) -> Awaitable[Any]:
        return get(f"{w.base}{path}", w.admin, **params)

    def studio(path: str, **params: Any) -> Awaitable[Any]:
        return get(f"/v1{path}", w.studio_key, **params)

    def loyalty(path: str, **params: Any) -> Awaitable[Any]:
        return get(f"{LOYALTY}{path}", w.loyalty, **params)

    def admin_get(collection: str, name: str) -> Check:
        return lambda: _is(admin(f"/{collection}/{ids[name]}"), ids[name])

    def customer_by(name: str) -> Check:
        lookup = {name: str(ids[name])}
        return lambda: _is(studio("/customers/by", **lookup), ids["customerId"])

    def medium(name: str) -> Check:
        return lambda: _among(studio(customer), ids[name], "accessMediums")

    def program(name: str) -> Check:
        return lambda: _is(loyalty(f"/loyaltyprograms/{ids[name]}"), ids[name])

    def contract(name: str) -> Check:
        return lambda: _is(loyalty(f"/contracts/{ids[name]}"), ids[name], "uuid")

    def contracts_by(name: str) -> Check:
        search = {name.replace("Reference", "Ref"): ids[name]}
        return lambda: _among(loyalty("/contracts", **search), ids["uuid"], "items", member="uuid")

    def order_line(name: str) -> Check:
        timed = f"/contracts/{ids['timedContractUuid']}"
        return lambda: _among(
            loyalty(timed, includeOrderLineEvents=True), ids[name], "orderLineEvents", member=name
        )

    def pending(answer: Callable[[], Awaitable[Any]]) -> Check:
        return lambda: _is(answer(), "PENDING_VERIFICATION", "contractCancelationStatus")

    async def token() -> bool:
        return token_id(w.admin) == ids["tokenId"] and await _is(admin(""), w.tenant_id)

    async def file() -> bool:
        document = await studio(f"{customer}/documents/{ids['id']}")
        download = await client.get(document["url"])
        return download.url.path == f"/files/{ids['fileKey']}" and download.content == PDF

    customer = f"/customers/{ids['customerId']}"
    module_contract = (
        f"/memberships/{ids['contractId']}/self-service/additional-module-contracts/"
        f"{ids['additionalModuleContractId']}"
    )
    field = f"/additional-information-fields/{ids['fieldId']}"
    return {
        "tenantId": lambda: _is(admin(""), ids["tenantId"]),
        "customerOrganisationId": lambda: _is(admin(""), ids["customerOrganisationId"]),
        "tokenId": token,
        "studioId": admin_get("studios", "studioId"),
        "targetStudioId": admin_get("studios", "targetStudioId"),
        "partnerId": admin_get("partners", "partnerId"),
        "integrationId": admin_get("partner-integrations", "integrationId"),
        "partnerIntegrationId": admin_get("partner-integrations", "partnerIntegrationId"),
        "apiKeyId": admin_get("api-keys", "apiKeyId"),
        "studioApiKeyId": admin_get("api-keys", "studioApiKeyId"),
        "oauthClientId": lambda: _among(admin("/oauth-clients"), ids["oauthClientId"], "items"),
        "customerId": lambda: _is(studio(customer), ids["customerId"]),
        "consumerCustomerId": admin_get("customers", "consumerCustomerId"),
        "idlePeriodId": lambda: _among(studio(customer), ids["idlePeriodId"], "idlePeriods"),
        "checkInId": lambda: _among(
            studio(f"{customer}/activities/checkins"),
            ids["checkInId"],
            "result",
            member="checkinId",
        ),
        # No route reads a weighing; the measurement shows the latest one's height.
        "databaseId": lambda: _is(
            studio("/customers/measurement/latest", cardNumber=ids["cardNumber"]), 178, "height"
        ),
        "rateId": admin_get("rates", "rateId"),
        "paymentFrequencyId": lambda: _among(
            admin(f"/rates/{ids['rateId']}"), ids["paymentFrequencyId"], "paymentFrequencies"
        ),
        "contractId": admin_get("contracts", "contractId"),
        "moduleId": admin_get("additional-modules", "moduleId"),
        "additionalModuleId": admin_get("additional-modules", "additionalModuleId"),
        "modulePaymentFrequencyId": lambda: _among(
            admin(f"/additional-modules/{ids['moduleId']}"),
            ids["modulePaymentFrequencyId"],
            "module",
            "paymentFrequencies",
        ),
        "moduleContractId": pending(lambda: admin(f"/module-contracts/{ids['moduleContractId']}")),
        "additionalModuleContractId": pending(lambda: studio(module_contract)),
        "cancelationReasonId": lambda: _among(
            studio("/memberships/self-service/contract-cancelation-reasons"),
            ids["cancelationReasonId"],
            member="cancelationReasonId",
        ),
        "fieldId": admin_get("additional-information-fields", "fieldId"),
        "additionalInformationFieldId": admin_get(
            "additional-information-fields", "additionalInformationFieldId"
        ),
        "textFieldId": admin_get("additional-information-fields", "textFieldId"),
        "listItemId": lambda: _among(admin(field), ids["listItemId"], "listItems"),
        "subscriptionId": admin_get("webhook-subscriptions", "subscriptionId"),
        "deliveryId": admin_get("webhook-deliveries", "deliveryId"),
        "entityId": lambda: _among(
            admin("/webhook-deliveries", entityId=ids["entityId"]), ids["deliveryId"], "items"
        ),
        "benefitId": admin_get("benefits", "benefitId"),
        "grantId": lambda: _among(admin(f"/benefits/{ids['benefitId']}"), ids["grantId"], "grants"),
        "benefitKey": lambda: _is(
            studio(f"{customer}/benefits/{ids['benefitKey']}/contingent"), 1, "used"
        ),
        "key": lambda: _among(
            studio("/customers/benefits", cardNumber=ids["cardNumber"], key=ids["key"]),
            True,
            member="valid",
        ),
        "usageId": lambda: _among(studio(f"{customer}/benefit-usages"), ids["usageId"], "result"),
        "id": lambda: _is(studio(f"{customer}/documents/{ids['id']}"), ids["id"]),
        "documentId": lambda: _is(studio(f"{customer}/documents/{ids['id']}"), ids["documentId"]),
        "fileKey": file,
        "accessMediumId": medium("accessMediumId"),
        "barcodeAccessMediumId": medium("barcodeAccessMediumId"),
        "pinAccessMediumId": medium("pinAccessMediumId"),
        "walletPassAccessMediumId": medium("walletPassAccessMediumId"),
        "cardNumber": customer_by("cardNumber"),
        "barcode": customer_by("barcode"),
        "customerNumber": customer_by("customerNumber"),
        "debtorId": customer_by("debtorId"),
        "qrCodeUuid": customer_by("qrCodeUuid"),
        "consumerCustomerNumber": lambda: _among(
            loyalty(f"/contract-consumers/{ids['consumerCustomerNumber']}/contracts"),
            ids["uuid"],
            "items",
            member="uuid",
        ),
        "loyaltyProgramId": program("loyaltyProgramId"),
        "timedProgramId": program("timedProgramId"),
        "couponsProgramId": program("couponsProgramId"),
        "loyaltyProgramCode": lambda: _is(
            loyalty(f"/loyaltyprograms/{ids['loyaltyProgramId']}"),
            ids["loyaltyProgramCode"],
            "loyaltyProgramCode",
        ),
        "uuid": contract("uuid"),
        "contractUUID": lambda: _is(
            loyalty(f"/contracts/{ids['contractUUID']}/points-balance"), "480.00", "balance"
        ),
        "timedContractUuid": contract("timedContractUuid"),
        "couponsContractUuid": contract("couponsContractUuid"),
        "couponContractUuid": contract("couponContractUuid"),
        "externalRef": contracts_by("externalRef"),
        "externalReference": contracts_by("externalReference"),
        "customerRef": contracts_by("customerRef"),
        "refundOf": lambda: _among(
            loyalty(f"/contracts/{ids['uuid']}/points-transactions"), ids["refundOf"], "items"
        ),
        "orderId": order_line("orderId"),
        "orderLineId": order_line("orderLineId"),
    }


def marked(w: TenantWorld) -> list[tuple[str, dict[str, str]]]:
    """Answers that show the world's marker, one per area."""
    customer = f"/v1/customers/{w.ids['customerId']}"
    return [
        (w.base, w.admin),
        (f"{w.base}/audit-log", w.admin),
        (f"{w.base}/webhook-subscriptions/{w.ids['subscriptionId']}", w.admin),
        (f"{w.base}/benefits/{w.ids['benefitId']}", w.admin),
        (f"{w.base}/module-contracts/{w.ids['moduleContractId']}", w.admin),
        (customer, w.studio_key),
        (f"{customer}/documents/{w.ids['id']}", w.studio_key),
        (f"{customer}/contracts", w.studio_key),
        (f"{LOYALTY}/contracts/{w.ids['uuid']}?includeConsumers=all", w.loyalty),
        (f"{LOYALTY}/loyaltyprograms/{w.ids['loyaltyProgramId']}", w.loyalty),
    ]


async def text(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> str:
    response = await client.get(path, headers=headers)
    assert response.status_code == 200, response.text
    return response.text


async def test_two_worlds_each_own_a_distinct_value_for_every_addressing_name(
    app: FastAPI, client: httpx.AsyncClient, settings: Settings, clock: FixedClock
) -> None:
    a = await build_tenant(client, settings, clock, "A")
    b = await build_tenant(client, settings, clock, "B")

    wanted = REQUIRED | addressing_names(app)
    for world in (a, b):
        assert wanted <= world.ids.keys(), sorted(wanted - world.ids.keys())
        assert all(value is not None for value in world.ids.values())
        # Answers may repeat a requested identifier: the marker must not be in one.
        assert not [v for v in world.ids.values() if world.marker in str(v)], world.ids
    assert a.ids.keys() == b.ids.keys()
    shared = {name: a.ids[name] for name in a.ids if a.ids[name] == b.ids[name]}
    assert not shared, shared
    assert (a.marker, b.marker) == ("zzAmarker", "zzBmarker")

    for world in (a, b):
        checks = owner_checks(client, world)
        assert checks.keys() == world.ids.keys(), sorted(checks.keys() ^ world.ids.keys())
        unreachable = [name for name, check in checks.items() if not await check()]
        assert not unreachable, (world.marker, unreachable)
        unmarked = [
            path
            for path, headers in marked(world)
            if world.marker not in await text(client, path, headers)
        ]
        assert not unmarked, (world.marker, unmarked)
