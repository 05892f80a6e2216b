"""In Chromium: signing in (with the keyboard), the error beside its field, password change and
signing out, at desktop and tablet width."""

import re

from playwright.async_api import Page, expect

from openbenefits.console.models import OperatorRole
from tests.console.conftest import PASSWORD, add_operator


async def test_an_operator_signs_in_changes_the_password_and_signs_out(page: Page, tenant, db):
    await add_operator(db, tenant.tenant_id, "ops@console.example", OperatorRole.READ_ONLY)
    await page.goto("/console")
    await expect(page).to_have_url(re.compile(r"/console/login\?next=/console$"))

    # The keyboard alone: the fields in order, Enter sends.
    await page.get_by_label("Email").focus()
    await page.keyboard.type("ops@console.example")
    await page.keyboard.press("Tab")
    await expect(page.get_by_label("Password")).to_be_focused()
    await page.keyboard.type("not the password")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_have_text(
        "Wrong email or password. (INVALID_CREDENTIALS)"
    )
    await expect(page.get_by_label("Email")).to_have_value("ops@console.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Gyms")
    await expect(page.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    # Read-only sees the pages, without the forms that change things.
    await page.get_by_role("link", name="Studios").click()
    await expect(page.get_by_role("button", name="Activate")).to_have_count(0)

    await page.get_by_role("link", name="Password").click()
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill("a brand new password")
    await page.get_by_label("New password again").fill("something else entirely")
    await page.get_by_role("button", name="Change password").click()
    repeated = page.get_by_label("New password again")
    await expect(repeated).to_have_attribute("aria-invalid", "true")
    await expect(page.locator("#password-repeated-error")).to_contain_text("PASSWORD_MISMATCH")

    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_label("New password", exact=True).fill("a brand new password")
    await repeated.fill("a brand new password")
    await page.get_by_role("button", name="Change password").click()
    await expect(page.get_by_role("status")).to_contain_text("Your password is changed")

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(re.compile(r"/console/login$"))
    await page.goto("/console")
    await expect(page).to_have_url(re.compile(r"/console/login"))
    await page.get_by_label("Email").fill("ops@console.example")
    await page.get_by_label("Password").fill("a brand new password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("Harbour Gyms")


async def test_the_navigation_fits_a_tablet(page: Page, tenant, db):
    await add_operator(db, tenant.tenant_id, "ops@console.example")
    await page.set_viewport_size({"width": 768, "height": 1024})
    await page.goto("/console/login")
    await page.get_by_label("Email").fill("ops@console.example")
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    nav = page.get_by_role("navigation", name="Main")
    await expect(nav.get_by_role("link", name="Amendments")).to_be_visible()
    # Nothing wider than the window: no sideways scrolling of the page.
    overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
