"""Booking and cancelling a module reaches partners as signed CONTRACT_UPDATED deliveries."""

from standardwebhooks import Webhook

from tests.chain import create_contract, create_rate, purchase_module
from tests.helpers import expect
from tests.webhooks.receiver import running_receiver
from tests.webhooks.subscriptions import subscribe

MONTHLY = {
    "type": "RECURRING",
    "term": {"value": 1, "unit": "MONTH"},
    "price": "9.90",
    "currency": "EUR",
}


async def test_purchase_and_cancelation_are_delivered_as_contract_updates(chain, deliver):
    rate = await create_rate(chain)
    customer = await chain.customer()
    contract = await create_contract(chain, customer, rate, "2026-01-01")
    module = expect(
        await chain.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/additional-modules",
            json={
                "name": "Sauna",
                "term": {"value": 1, "unit": "MONTH"},
                "extension": {"extensionType": "NEW"},
                "paymentFrequencies": [MONTHLY],
                "rateIds": [rate["id"]],
            },
            headers=chain.admin,
        ),
        201,
    )
    reason = expect(
        await chain.client.post(
            f"/admin/v1/tenants/{chain.tenant_id}/cancelation-reasons",
            json={"name": "Moving"},
            headers=chain.admin,
        ),
        201,
    )
    async with running_receiver() as receiver:
        subscription = await subscribe(
            chain, receiver.url, chain.studio_a, eventTypes=["CONTRACT_UPDATED"]
        )
        base = f"/v1/memberships/{contract['id']}/self-service"
        bought = await purchase_module(chain, contract, module)
        path = f"{base}/additional-module-contracts/{bought}"
        dates = expect(await chain.client.get(path, headers=chain.key_a), 200)
        expect(
            await chain.client.post(
                f"{path}/ordinary-cancelation",
                json={
                    "cancelationDate": dates["availableCancelationDates"][0],
                    "cancelationReasonId": reason["cancelationReasonId"],
                },
                headers=chain.key_a,
            ),
            200,
        )
        # One pass sends an entity's next event; the following one waits for it.
        passes = [await deliver() for _ in range(3)]
        assert passes == [1, 1, 0]
    bodies = [
        Webhook(subscription["secret"]).verify(request.body, request.headers)
        for request in receiver.requests
    ]
    assert [b["payload"][0]["type"] for b in bodies] == ["CONTRACT_UPDATED", "CONTRACT_UPDATED"]
    assert {b["entityId"] for b in bodies} == {contract["id"]}
    assert bodies[0]["payload"][0]["content"] == {
        "contractId": contract["id"],
        "customerId": customer["id"],
    }


async def test_a_refused_purchase_emits_nothing(chain, deliver):
    rate = await create_rate(chain)
    contract = await create_contract(chain, await chain.customer(), rate, "2026-01-01")
    async with running_receiver() as receiver:
        await subscribe(chain, receiver.url, chain.studio_a)
        await deliver()  # the subscription's own set-up events, if any
        receiver.requests.clear()
        refused = await chain.client.post(
            f"/v1/memberships/{contract['id']}/self-service/additional-modules/purchase",
            json={"additionalModuleId": 999, "paymentFrequencyId": 1, "bookTrialPeriod": False},
            headers=chain.key_a,
        )
        assert refused.json()["errorCode"] == "ADDITIONAL_MODULE_NOT_FOUND"
        assert await deliver() == 0
    assert receiver.requests == []
