"""In Chromium, a loyalty manager at work: a new version of a program, then a consumer of a
contract blocked."""

import re

from playwright.async_api import Dialog, Page, expect

from openbenefits.console.models import OperatorRole
from tests.console.conftest import PASSWORD, add_operator
from tests.helpers import expect as expect_status
from tests.loyalty.conftest import make_org


async def _accept(dialog: Dialog) -> None:
    await dialog.accept()


async def test_a_loyalty_manager_versions_a_program_and_blocks_a_consumer(
    page: Page, client, settings, clock, db
):
    org = await make_org(client, settings, clock, "Entur")
    program = await org.program(internalDescription="Customer card")
    contract = await org.contract(program["id"], externalRef="CARD-7")
    await org.customer(4700)
    await org.customer(4711)
    expect_status(await org.connect(contract["uuid"], 4700, isContractHolder=True), 201)
    expect_status(await org.connect(contract["uuid"], 4711), 201)
    await add_operator(db, org.tenant_id, "loyalty@entur.example", OperatorRole.LOYALTY_MANAGER)

    await page.goto("/console/login")
    await page.get_by_label("Email").fill("loyalty@entur.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.get_by_role("link", name="Loyalty").click()
    versions = page.get_by_role("list", name=re.compile("^Versions of"))
    await expect(versions.get_by_role("listitem")).to_have_count(1)
    version = page.get_by_role("form", name=re.compile("^New version of"))
    await version.get_by_label("Product version").fill("ENT:Version:2")
    await version.get_by_label("Starts").fill("2030-01-01")
    await version.get_by_role("button", name="Create version").click()
    await expect(page.get_by_role("status")).to_have_text("The version is saved.")
    await expect(versions.get_by_role("listitem")).to_have_count(2)
    await expect(versions.get_by_role("listitem").nth(1)).to_contain_text("draft")
    await expect(versions.get_by_role("listitem").nth(1)).to_contain_text("ENT:Version:2")

    await page.get_by_role("link", name="Find a contract").click()
    await page.get_by_label("Customer number, contract uuid or external reference").fill("CARD-7")
    await page.get_by_role("button", name="Find").click()
    await page.get_by_role("link", name=contract["uuid"]).click()
    await page.get_by_role("button", name="Block customer 4711").click()
    await expect(page.get_by_role("status")).to_have_text("The consumer is blocked.")
    row = page.get_by_role("row", name=re.compile("4711"))
    await expect(row.get_by_text("blocked", exact=True)).to_be_visible()
    await expect(row.get_by_role("button", name="Unblock customer 4711")).to_be_visible()
