"""One fully populated tenant, built through the HTTP API as an operator (admin API) and a
partner (studio Open API, loyalty API) would, for the tenant-isolation matrix.

``build_tenant`` creates every kind of entity a route addresses by id, and records one value
per path, query or body parameter name in ``TenantWorld.ids``. Each world puts its ``marker``
into every free-text field it can (names, descriptions, reasons, file names, the references
that no route looks up, the admin token's name and so the audit log), so a leak of its data
into another tenant's answer can be searched for.
Identifiers that the client chooses (customer numbers, card numbers, barcodes, PINs, benefit
keys, references) are derived from the tenant id, so they differ between worlds (another
tenant's value is an unknown one to every tenant but its owner); they do not carry the marker,
since an answer may repeat the identifier it was asked for. No value in ``ids`` contains it.

Nothing is written to tables directly; the webhook worker is not run (the test event's
delivery exists, pending).
"""

import re
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt

from openbenefits.config import Settings
from openbenefits.kit.clock import FixedClock
from openbenefits.tenancy.scopes import StudioScope
from openbenefits.webhooks.schemas import EventType
from tests.chain import Chain, create_contract, create_module, create_rate, purchase_module
from tests.customers.uploads import PDF, image
from tests.helpers import admin_headers, create_tenant, expect
from tests.loyalty.conftest import Org
from tests.loyalty.test_points import GIFT_CARD
from tests.loyalty.test_usage import COUPON_CARD

EVERY_STUDIO_SCOPE = [scope.value for scope in StudioScope]
CONTRACT_START = "2026-01-01"  # the suite's clock starts on 2026-11-22
# In the future, so that check-ins and benefit uses stay allowed.
IDLE_PERIOD = {"startDate": "2027-03-01", "endDate": "2027-03-31"}
RESTRICTION = {"startDate": "2027-06-01", "endDate": "2027-06-30"}


@dataclass
class TenantWorld:
    tenant_id: int
    admin: dict[str, str]  # an admin token bound to this tenant
    studio_key: dict[str, str]  # every studio scope, bound to the first studio's integration
    loyalty: dict[str, str]  # Authorization: Bearer <loyalty token, both scopes>
    client_id: str
    client_secret: str
    ids: dict[str, object] = field(default_factory=dict)
    marker: str = ""

    @property
    def base(self) -> str:
        return f"/admin/v1/tenants/{self.tenant_id}"

    def credentials(self, path: str) -> dict[str, str]:
        """This tenant's credential for the surface ``path`` belongs to (none elsewhere)."""
        if path.startswith("/v1/"):
            return self.studio_key
        if path.startswith("/customers/v2/"):
            return self.loyalty
        return self.admin if path.startswith("/admin/") else {}

    async def renew(self, client: httpx.AsyncClient) -> None:
        """A new studio key (every scope) and loyalty token: a request may have revoked the
        ones in use."""
        key = await client.post(
            f"{self.base}/api-keys",
            json={
                "studioId": self.ids["studioId"],
                "partnerIntegrationId": self.ids["integrationId"],
                "name": "renewed",
                "scopes": EVERY_STUDIO_SCOPE,
            },
            headers=self.admin,
        )
        self.studio_key = {"X-API-KEY": expect(key, 201)["key"]}
        oauth = await client.post(
            f"{self.base}/oauth-clients",
            json={"name": "renewed", "scopes": ["LOYALTY_READ", "LOYALTY_WRITE"]},
            headers=self.admin,
        )
        created = expect(oauth, 201)
        self.client_id, self.client_secret = created["clientId"], created["clientSecret"]
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        token = expect(await client.post("/oauth/token", data=form), 200)["access_token"]
        self.loyalty = {"Authorization": f"Bearer {token}"}

    def number(self, k: int) -> int:
        """The tenant's ``k``-th chosen number (customer numbers, card numbers, PINs): unique
        to the tenant, as tenant ids are."""
        return self.tenant_id * 100 + k

    def ref(self, label: str) -> str:
        """A client-chosen identifier (a barcode, a benefit key, an external reference): unique
        to the tenant, and without the marker, since answers may repeat a requested identifier
        ("no contract has the external reference ...") and the marker is what tells a leak."""
        return f"{label}-T{self.tenant_id}"


async def build_tenant(
    client: httpx.AsyncClient, settings: Settings, clock: FixedClock, name: str
) -> TenantWorld:
    """A tenant with one of everything. ``name`` tells worlds apart (``A``, ``B``); their
    marker is ``zz<name>marker`` (letters and digits of ``name`` only)."""
    marker = f"zz{re.sub(r'[^A-Za-z0-9]', '', name)}marker"
    world, chain = await _tenancy(client, settings, clock, name, marker)
    holder = await _customers(world, chain)
    main_contract, module = await _contracts_and_modules(world, chain, holder)
    await _benefits(world, chain, module)
    await _module_contract(world, chain, main_contract, module)
    await _benefit_use(world, chain, holder)
    await _activities(world, chain, holder)
    await _additional_information(world, chain, holder)
    await _documents(world, chain, holder)
    await _webhooks(world, chain)
    await _loyalty(world, chain, clock)
    return world


# Tenancy: the tenant, two studios, the partner integrated in the first, keys, OAuth client


async def _tenancy(
    client: httpx.AsyncClient, settings: Settings, clock: FixedClock, name: str, marker: str
) -> tuple[TenantWorld, Chain]:
    setup = await create_tenant(
        client, admin_headers(settings, clock), f"{name} {marker}", scopes=EVERY_STUDIO_SCOPE
    )
    # The token's name is the audit log's actor: the marker reaches the audit entries too.
    admin = admin_headers(settings, clock, setup.tenant_id, name=marker)
    world = TenantWorld(
        tenant_id=setup.tenant_id,
        admin=admin,
        studio_key={"X-API-KEY": setup.api_key},
        loyalty={},
        client_id=setup.client_id,
        client_secret=setup.client_secret,
        marker=marker,
    )
    second_studio = expect(
        await client.post(
            f"{world.base}/studios",
            json={
                "name": f"{marker} Studio 2",
                "timeZone": "Europe/Berlin",
                "currency": "EUR",
                "locale": "de-DE",
            },
            headers=admin,
        ),
        201,
    )
    # Studio A's key is the partner's (tests/chain.py's helpers purchase with it); Studio B's
    # is the studio's own (no integration).
    chain = Chain(
        client,
        admin,
        setup.tenant_id,
        setup.studio_id,
        int(second_studio["id"]),
        key_a=world.studio_key,
        key_b={},
        integration_a=setup.integration_id,
    )
    chain.key_b = await chain.key(chain.studio_b, EVERY_STUDIO_SCOPE)
    keys = await _all(client, f"{world.base}/api-keys", admin)
    oauth_clients = await _all(client, f"{world.base}/oauth-clients", admin)
    world.ids.update(
        tenantId=setup.tenant_id,
        customerOrganisationId=setup.tenant_id,
        studioId=setup.studio_id,
        targetStudioId=chain.studio_b,
        partnerId=setup.partner_id,
        integrationId=setup.integration_id,
        partnerIntegrationId=setup.integration_id,
        apiKeyId=next(k["id"] for k in keys if k["partnerIntegrationId"] == setup.integration_id),
        studioApiKeyId=next(k["id"] for k in keys if k["studioId"] == chain.studio_b),
        oauthClientId=next(c["id"] for c in oauth_clients if c["clientId"] == setup.client_id),
        tokenId=token_id(admin),
    )
    return world, chain


def token_id(headers: dict[str, str]) -> str:
    """The id (``jti``) of the admin token in ``headers``, by which it is revoked."""
    token = headers["Authorization"].removeprefix("Bearer ")
    return str(jwt.decode(token, options={"verify_signature": False})["jti"])


async def _all(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[Any]:
    return list(expect(await client.get(path, headers=headers), 200)["items"])


# Customers: the loyalty holder (who also holds the main contract) and a second consumer,
# with numeric customer numbers; an access medium of each kind; a restriction and an idle
# period, both to come


async def _customers(world: TenantWorld, chain: Chain) -> dict[str, Any]:
    marker = world.marker
    debtor = world.ref("DEBTOR")
    holder = await chain.customer(
        customerNumber=str(world.number(1)),
        firstName=f"Anna {marker}",
        lastName=f"Berg {marker}",
        dateOfBirth="1980-05-17",
        email=f"anna.{marker}@example.org",
        street=f"{marker} Street",
        houseNumber="1",
        zipCode="10115",
        city=f"{marker} City",
        country="DE",
        thirdPartyId=f"tp-{marker}",
        referralCode=f"ref-{marker}",
        debtorId=debtor,
        accountHolder=f"Anna {marker}",
        bankName=f"{marker} Bank",
    )
    consumer = await chain.customer(
        customerNumber=str(world.number(2)),
        firstName=f"Bo {marker}",
        lastName=f"Lund {marker}",
        dateOfBirth="2015-02-03",
    )
    mediums = {
        "CARD_NUMBER": str(world.number(1) * 1000 + 7),
        "BARCODE": world.ref("BARCODE"),
        "PIN": str(world.number(1) * 10 + 4),
        "WALLET_PASS": world.ref("WALLET"),
    }
    medium_ids = {}
    for kind, value in mediums.items():
        medium = expect(
            await chain.client.post(
                f"/v1/customers/{holder['id']}/access-mediums",
                json={"type": kind, "value": value},
                headers=world.studio_key,
            ),
            200,
        )
        medium_ids[kind] = medium["id"]
    idle = expect(
        await chain.client.post(
            f"{world.base}/customers/{holder['id']}/idle-periods",
            json={**IDLE_PERIOD, "reason": f"Travelling {marker}"},
            headers=world.admin,
        ),
        201,
    )
    expect(
        await chain.client.put(
            f"/v1/customers/{holder['id']}/access-restrictions",
            json={**RESTRICTION, "reason": f"Unpaid {marker}"},
            headers=world.studio_key,
        ),
        200,
    )
    world.ids.update(
        customerId=holder["id"],
        customerNumber=world.number(1),
        consumerCustomerId=consumer["id"],
        consumerCustomerNumber=world.number(2),
        debtorId=debtor,
        qrCodeUuid=holder["uuid"],
        cardNumber=mediums["CARD_NUMBER"],
        barcode=mediums["BARCODE"],
        accessMediumId=medium_ids["CARD_NUMBER"],
        barcodeAccessMediumId=medium_ids["BARCODE"],
        pinAccessMediumId=medium_ids["PIN"],
        walletPassAccessMediumId=medium_ids["WALLET_PASS"],
        idlePeriodId=idle["id"],
    )
    return holder


# Contracts and modules: a rate with a payment frequency, the holder's main contract, an
# additional module offered to the rate, a cancelation reason


async def _contracts_and_modules(
    world: TenantWorld, chain: Chain, holder: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    marker = world.marker
    rate = await create_rate(chain, name=f"Premium {marker}")
    contract = await create_contract(chain, holder, rate, CONTRACT_START)
    module = await create_module(
        chain,
        [rate["id"]],
        name=f"Sauna {marker}",
        description=f"Sauna and steam {marker}",
        imageUrl=f"https://example.org/{marker}.png",
    )
    reason = expect(
        await chain.client.post(
            f"{world.base}/cancelation-reasons",
            json={"name": f"Moving away {marker}"},
            headers=world.admin,
        ),
        201,
    )
    world.ids.update(
        rateId=rate["id"],
        paymentFrequencyId=rate["paymentFrequencies"][0]["id"],
        contractId=contract["id"],
        moduleId=module["id"],
        additionalModuleId=module["id"],
        modulePaymentFrequencyId=module["module"]["paymentFrequencies"][0]["id"],
        cancelationReasonId=reason["cancelationReasonId"],
    )
    return contract, module


async def _module_contract(
    world: TenantWorld, chain: Chain, contract: dict[str, Any], module: dict[str, Any]
) -> None:
    """The partner books the module onto the main contract, then cancels it on its first
    date; its integration does not cancel directly, so the cancelation waits for the
    operator's amendment decision (PENDING_VERIFICATION)."""
    module_contract_id = await purchase_module(chain, contract, module)
    path = (
        f"/v1/memberships/{contract['id']}/self-service/additional-module-contracts/"
        f"{module_contract_id}"
    )
    dates = expect(await chain.client.get(path, headers=world.studio_key), 200)[
        "availableCancelationDates"
    ]
    cancelation = {
        "cancelationDate": dates[0],
        "cancelationReasonId": world.ids["cancelationReasonId"],
    }
    expect(
        await chain.client.post(
            f"{path}/ordinary-cancelation", json=cancelation, headers=world.studio_key
        ),
        200,
    )
    world.ids.update(
        moduleContractId=module_contract_id, additionalModuleContractId=module_contract_id
    )


# Benefits: the partner's benefit, granted 5 times a month by the module, and one use


async def _benefits(world: TenantWorld, chain: Chain, module: dict[str, Any]) -> None:
    key = world.ref("SAUNA")
    benefit = expect(
        await chain.client.post(
            f"{world.base}/partners/{world.ids['partnerId']}/benefits",
            json={"key": key, "name": f"Sauna {world.marker}", "crossFacility": True},
            headers=world.admin,
        ),
        201,
    )
    grant = expect(
        await chain.client.post(
            f"{world.base}/benefits/{benefit['id']}/grants",
            json={"additionalModuleId": module["id"], "contingent": {"uses": 5, "period": "MONTH"}},
            headers=world.admin,
        ),
        201,
    )
    world.ids.update(benefitId=benefit["id"], grantId=grant["id"], benefitKey=key, key=key)


async def _benefit_use(world: TenantWorld, chain: Chain, holder: dict[str, Any]) -> None:
    customer = f"/v1/customers/{holder['id']}"
    key = world.ids["benefitKey"]
    _answered(
        await chain.client.post(f"{customer}/benefits/{key}/use", headers=world.studio_key), 200
    )
    usages = expect(
        await chain.client.get(f"{customer}/benefit-usages", headers=world.studio_key), 200
    )
    world.ids["usageId"] = usages["result"][0]["id"]


def _answered(response: httpx.Response, status: int) -> None:
    """``expect`` for answers without a body."""
    assert response.status_code == status, response.text


# Activities: a check-in (left open, as the door system saw it) and a weighing


async def _activities(world: TenantWorld, chain: Chain, holder: dict[str, Any]) -> None:
    visit = expect(
        await chain.client.post(
            f"{world.base}/check-ins",
            json={"customerId": holder["id"], "studioId": chain.studio_a},
            headers=world.admin,
        ),
        201,
    )
    weighing = expect(
        await chain.client.post(
            f"/v1/customers/{holder['id']}/weighing",
            json={"weight": 71.5, "height": 178, "rawResults": f"scale {world.marker}"},
            headers=world.studio_key,
        ),
        200,
    )
    world.ids.update(checkInId=visit["id"], databaseId=weighing["databaseId"])


# Additional information: a LIST field with an item and a TEXT field, both given values


async def _additional_information(world: TenantWorld, chain: Chain, holder: dict[str, Any]) -> None:
    marker = world.marker
    fields = f"{world.base}/additional-information-fields"
    listed = expect(
        await chain.client.post(
            fields,
            json={
                "name": f"Goal {marker}",
                "type": "LIST",
                "abbreviation": marker[:20],
                "listItems": [{"name": f"Strength {marker}"}, {"name": f"Endurance {marker}"}],
            },
            headers=world.admin,
        ),
        201,
    )
    text = expect(
        await chain.client.post(
            fields, json={"name": f"Note {marker}", "type": "TEXT"}, headers=world.admin
        ),
        201,
    )
    item = listed["listItems"][0]["id"]
    _answered(
        await chain.client.put(
            f"/v1/customers/{holder['id']}/additional-information-field-assignments",
            json=[
                {"additionalInformationFieldId": listed["id"], "value": str(item)},
                {"additionalInformationFieldId": text["id"], "value": f"Likes {marker}"},
            ],
            headers=world.studio_key,
        ),
        200,
    )
    world.ids.update(
        fieldId=listed["id"],
        additionalInformationFieldId=listed["id"],
        textFieldId=text["id"],
        listItemId=item,
    )


# Documents: an uploaded PDF and a profile image


async def _documents(world: TenantWorld, chain: Chain, holder: dict[str, Any]) -> None:
    customer = f"/v1/customers/{holder['id']}"
    uploaded = expect(
        await chain.client.post(
            f"{customer}/documents",
            params={"description": f"Contract scan {world.marker}"},
            files={"file": (f"{world.marker}.pdf", PDF, "application/pdf")},
            headers=world.studio_key,
        ),
        200,
    )
    document = expect(
        await chain.client.get(f"{customer}/documents/{uploaded['id']}", headers=world.studio_key),
        200,
    )
    expect(
        await chain.client.put(
            f"{customer}/images",
            files={"image": ("face.png", image("PNG", (8, 8)), "image/png")},
            headers=world.studio_key,
        ),
        200,
    )
    world.ids.update(id=uploaded["id"], documentId=uploaded["id"], fileKey=_file_key(document))


def _file_key(document: dict[str, Any]) -> str:
    """The blob key in a download URL: /files/{key}?expires=...&signature=..."""
    return httpx.URL(document["url"]).path.removeprefix("/files/")


# Webhooks: a subscription of the first studio's integration and a test event's delivery


async def _webhooks(world: TenantWorld, chain: Chain) -> None:
    subscription = expect(
        await chain.client.post(
            f"{world.base}/webhook-subscriptions",
            json={
                "partnerIntegrationId": world.ids["partnerIntegrationId"],
                "url": f"https://hooks.example.org/{world.marker}",
                "eventTypes": [kind.value for kind in EventType],
                "apiKey": f"key-{world.marker}",
            },
            headers=world.admin,
        ),
        201,
    )
    delivery = expect(
        await chain.client.post(
            f"{world.base}/webhook-subscriptions/{subscription['id']}/test", headers=world.admin
        ),
        202,
    )
    world.ids.update(
        subscriptionId=subscription["id"],
        deliveryId=delivery["id"],
        entityId=delivery["entityId"],
    )


# Loyalty: TIMED, COUPONS and POINTS programs with contracts held by the holder, a second
# consumer, order-line events, points deposited and withdrawn, age bands


async def _loyalty(world: TenantWorld, chain: Chain, clock: FixedClock) -> None:
    marker = world.marker
    org = Org(
        chain.client,
        world.admin,
        world.tenant_id,
        chain.studio_a,
        world.client_id,
        world.client_secret,
        clock,
    )
    await org.refresh()
    world.loyalty = org.headers

    async def program(kind: str, **fields: Any) -> dict[str, Any]:
        return await org.program(
            **{
                **fields,
                "productId": f"ENT:{kind}:{marker}",
                "productVersion": f"ENT:ProductVersion:{marker}",
                "internalDescription": f"{kind} program {marker}",
                "descriptions": [
                    {
                        "languageCode": "ENG",
                        "description": f"{kind} {marker}",
                        "displayName": marker,
                    }
                ],
            }
        )

    timed = await program("Timed")
    coupons = await program("Coupons", **COUPON_CARD)
    points = await program(
        "Points",
        **GIFT_CARD,
        loyaltyProgramCode=world.ref("GIFT"),
    )
    holder = {"customerNumber": world.number(1), "customerRef": world.ref("HOLDER")}
    timed_contract = await org.contract(timed["id"], **holder, externalRef=f"timed-{marker}")
    coupons_contract = await org.contract(coupons["id"], **holder, externalRef=f"coupons-{marker}")
    # The marker shows in the gift card's answers as its policy's key.
    policy = {marker: "secret"}
    gift_card = await org.contract(
        points["id"],
        **holder,
        externalRef=world.ref("GIFT-CARD"),
        policies=[{"key": key, "value": value} for key, value in policy.items()],
    )
    uuid = gift_card["uuid"]
    consumer = await org.connect(
        uuid,
        world.number(2),
        customerRef=f"consumer-{marker}",
        policyValidationProperties=policy,
    )
    expect(consumer, 201)
    order = {"orderId": world.ref("ORDER"), "orderLineId": world.ref("LINE")}
    timed_use = {**order, "discount": "12.50", "currency": "NOK"}
    expect(await org.post(f"/contracts/{timed_contract['uuid']}/order-line-events", timed_use), 201)
    coupon_use = expect(
        await org.post(f"/contracts/{coupons_contract['uuid']}/order-line-events", order), 201
    )
    ledger = f"/contracts/{uuid}/points-transactions"
    for kind, amount in (("DEPOSIT", "500.00"), ("WITHDRAWAL", "20.00")):
        transaction = {
            "transactionType": kind,
            "pointsType": "NOK",
            "amount": amount,
            "externalRef": f"{kind.lower()}-{marker}",
        }
        recorded = expect(await org.post(ledger, transaction), 201)
    bands = [
        {"passengerCategory": "CHILD", "fromAge": 0},
        {"passengerCategory": "ADULT", "fromAge": 16},
        {"passengerCategory": "SENIOR", "fromAge": 70},
    ]
    age_bands = {"bands": bands, "seniorCitizenFromAge": 70}
    expect(await org.put("/age-bands", age_bands), 200)
    world.ids.update(
        loyaltyProgramId=points["id"],
        timedProgramId=timed["id"],
        couponsProgramId=coupons["id"],
        loyaltyProgramCode=points["loyaltyProgramCode"],
        uuid=uuid,
        contractUUID=uuid,
        timedContractUuid=timed_contract["uuid"],
        couponsContractUuid=coupons_contract["uuid"],
        couponContractUuid=coupon_use["contractUUID"],
        externalRef=gift_card["externalRef"],
        externalReference=gift_card["externalRef"],
        customerRef=holder["customerRef"],
        refundOf=recorded["id"],  # the withdrawal
        orderId=order["orderId"],
        orderLineId=order["orderLineId"],
    )
