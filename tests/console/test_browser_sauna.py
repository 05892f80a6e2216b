"""In Chromium, seed 000 from scratch: an operator who has never seen the admin API activates the
Sauna App in Studio B, makes the rate and the Sauna module, defines the cross-facility SAUNA
benefit with a contingent of 3 per week granted by the module, and hands the partner its keys.
The partner's calls through the Studio Open API then behave as the seed says (the use in Studio
B draws on the contingent held in Studio A); the operator sees the contingent exhausted and the
day's count on the home chart, reverses a use, and approves the partner's cancelation."""

import re

import httpx
from playwright.async_api import Dialog, Page, expect

from openbenefits.console.models import OperatorRole
from tests.chain import Chain, create_contract
from tests.console.conftest import PASSWORD, add_operator
from tests.helpers import expect as expect_status

MEMBERSHIP_SCOPES = [
    "MEMBERSHIP_SELF_SERVICE_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_CONTRACT_READ",
    "MEMBERSHIP_SELF_SERVICE_ADDITIONAL_MODULE_CONTRACT_WRITE",
]


async def _sign_in(page: Page, email: str) -> None:
    await page.goto("/console/login")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Chain")


async def _period(page: Page, form: str, prefix: str, value: str, unit: str) -> None:
    await page.locator(f"#{form}-{prefix}\\.value").fill(value)
    await page.locator(f"#{form}-{prefix}\\.unit").select_option(unit)


async def _monthly_price(page: Page, form: str, price: str) -> None:
    await page.locator(f"#{form}-payment_frequencies\\.0\\.type").select_option("RECURRING")
    await _period(page, form, "payment_frequencies\\.0\\.term", "1", "MONTH")
    await page.locator(f"#{form}-payment_frequencies\\.0\\.price").fill(price)


async def _new_key(page: Page, name: str, extra_scopes: list[str]) -> str:
    form = page.locator("form[action$='/api-keys']")
    await form.get_by_label("Name").fill(name)
    for scope in extra_scopes:
        await form.get_by_label(scope, exact=True).check()
    await form.get_by_role("button", name="Create key").click()
    return await page.locator("#secret").inner_text()


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_the_seed_sauna_benefit_configured_in_the_console(
    page: Page, chain: Chain, db, console_server: str
):
    await add_operator(db, chain.tenant_id, "ops@chain.example", OperatorRole.TENANT_ADMIN)
    await _sign_in(page, "ops@chain.example")

    # Studios: the Sauna App is active in Chain Studio (Studio A); activate it in Studio B.
    await page.get_by_role("link", name="Studios").click()
    studio_b = page.locator("section", has=page.get_by_role("heading", name="Studio B"))
    await studio_b.get_by_label("Activate a partner in Studio B").select_option(label="Sauna App")
    await studio_b.get_by_role("button", name="Activate").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Sauna App in Studio B")
    studio_b_integration = page.url

    # The rate and the module (seed 002's configuration screen).
    await page.get_by_role("link", name="Modules").click()
    await page.locator("#rate-name").fill("Premium 12")
    await _period(page, "rate", "term", "12", "MONTH")
    await _period(page, "rate", "extension_term", "1", "MONTH")
    await _period(page, "rate", "cancellation_period", "1", "MONTH")
    await _monthly_price(page, "rate", "39.90")
    await page.get_by_role("button", name="Create rate").click()
    await expect(page.get_by_role("status")).to_have_text("The rate is saved.")
    await page.locator("#module-name").fill("Sauna")
    await _period(page, "module", "term", "1", "MONTH")
    await _period(page, "module", "cancelation_period", "14", "DAY")
    await _monthly_price(page, "module", "9.90")
    await page.get_by_label("Premium 12").check()
    await page.get_by_role("button", name="Create module").click()
    await expect(page.get_by_role("status")).to_have_text("The additional module is saved.")
    await expect(page.get_by_text("visible through the Open API", exact=True)).to_be_visible()

    # The integration detail view: the cross-facility benefit, its grant, the partner's keys.
    await page.get_by_role("link", name="Studios").click()
    await page.get_by_role("link", name="Integration details of Sauna App in Chain Studio").click()
    benefit = page.locator("form[action$='/benefits']")
    await benefit.get_by_label("Key").fill("SAUNA")
    await benefit.get_by_label("Name").fill("Sauna visit")
    await benefit.get_by_label("Cross-facility").check()
    await benefit.get_by_role("button", name="Add benefit").click()
    grant = page.get_by_role("form", name="Grant SAUNA")
    await grant.get_by_label("Granted by").select_option(label="Module Sauna")
    await grant.get_by_label("Uses per week").fill("3")
    # A time window ending before it starts is refused beside its row, all typed kept; the
    # grant then goes without one (usable at any time).
    await grant.get_by_text("Time windows").click()
    window = grant.get_by_role("group", name="Time window 1")
    await window.get_by_label("Sat").check()
    await window.get_by_label("From").fill("16:00")
    await window.get_by_label("Until").fill("10:00")
    await grant.get_by_role("button", name="Add grant").click()
    await expect(window.get_by_role("alert")).to_contain_text("end must be after start")
    await expect(window.get_by_label("Sat")).to_be_checked()
    await expect(window.get_by_label("Until")).to_have_value("10:00")
    await expect(grant.get_by_label("Uses per week")).to_have_value("3")
    await window.get_by_label("Sat").uncheck()
    await window.get_by_label("From").fill("")
    await window.get_by_label("Until").fill("")
    await grant.get_by_role("button", name="Add grant").click()
    await expect(page.get_by_role("cell", name="3 per WEEK", exact=True)).to_be_visible()
    key_a = await _new_key(page, "sauna app", MEMBERSHIP_SCOPES)
    await page.goto(studio_b_integration)
    key_b = await _new_key(page, "sauna app", [])

    # The partner, through the Studio Open API of the served instance.
    rate = expect_status(
        await chain.client.get(f"/admin/v1/tenants/{chain.tenant_id}/rates", headers=chain.admin),
        200,
    )["items"][0]
    customer = await chain.customer(firstName="Anna", lastName="Berg")
    contract = await create_contract(chain, customer, rate, "2026-01-01")
    async with httpx.AsyncClient(base_url=console_server) as partner:
        offers = expect_status(
            await partner.get(
                f"/v1/memberships/{contract['id']}/self-service/additional-modules/purchasable",
                headers={"X-API-KEY": key_a},
            ),
            200,
        )
        (sauna,) = offers
        bought = expect_status(
            await partner.post(
                f"/v1/memberships/{contract['id']}/self-service/additional-modules/purchase",
                json={
                    "additionalModuleId": sauna["id"],
                    "paymentFrequencyId": sauna["paymentFrequencies"][0]["id"],
                    "bookTrialPeriod": False,
                },
                headers={"X-API-KEY": key_a},
            ),
            200,
        )
        use = f"/v1/customers/{customer['id']}/benefits/SAUNA/use"
        for _ in range(3):
            assert (await partner.post(use, headers={"X-API-KEY": key_b})).status_code == 200
        refused = await partner.post(use, headers={"X-API-KEY": key_a})
        assert refused.json()["errorCode"] == "BENEFIT_CONTINGENT_EXHAUSTED"

        # The operator: the lead and the day's count on the home chart.
        await page.get_by_role("link", name="Home").click()
        leads = page.locator(
            "section", has=page.get_by_role("heading", name="Exhausted contingents")
        )
        await expect(leads.get_by_role("link", name="Anna Berg")).to_be_visible()
        titles = await page.locator("svg rect.bar title").all_text_contents()
        assert titles[-1].endswith(": 3 uses"), titles[-1]

        # The customer page: exhausted, then one use reversed with its reason.
        await page.get_by_role("link", name="Customers").click()
        await page.get_by_label("Name, customer number or card").fill("Berg")
        await page.get_by_role("button", name="Search").click()
        await page.get_by_role("link", name="Anna Berg").click()
        await expect(page.get_by_text("exhausted", exact=True)).to_be_visible()
        first = page.locator("section[aria-labelledby=ledger] form").first
        await first.get_by_label("Reason").fill("Sauna closed for cleaning")
        page.once("dialog", _accept)
        await first.get_by_role("button", name=re.compile("^Reverse")).click()
        await expect(page.get_by_role("status")).to_contain_text("The use is reversed")
        await expect(page.get_by_text("Sauna closed for cleaning")).to_be_visible()
        await expect(page.get_by_text("exhausted", exact=True)).to_have_count(0)
        assert (await partner.post(use, headers={"X-API-KEY": key_a})).status_code == 200

        # The partner cancels the module; without direct cancelation the operator decides.
        module_contract = (
            f"/v1/memberships/{contract['id']}/self-service/additional-module-contracts/"
            f"{bought['id']}"
        )
        dates = expect_status(
            await partner.get(module_contract, headers={"X-API-KEY": key_a}), 200
        )["availableCancelationDates"]
        reason = expect_status(
            await chain.client.post(
                f"/admin/v1/tenants/{chain.tenant_id}/cancelation-reasons",
                json={"name": "Moving away"},
                headers=chain.admin,
            ),
            201,
        )
        expect_status(
            await partner.post(
                f"{module_contract}/ordinary-cancelation",
                json={
                    "cancelationDate": dates[0],
                    "cancelationReasonId": reason["cancelationReasonId"],
                },
                headers={"X-API-KEY": key_a},
            ),
            200,
        )
        await page.get_by_role("link", name="Amendments").click()
        page.once("dialog", _accept)
        await page.get_by_role("button", name="Approve").click()
        await expect(page.get_by_role("status")).to_have_text("The amendment is approved.")
        state = expect_status(await partner.get(module_contract, headers={"X-API-KEY": key_a}), 200)
        assert state["contractCancelationStatus"] == "CANCELED"
