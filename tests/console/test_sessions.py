"""Signing in and out of the console: sessions in Secure, HTTP-only, SameSite cookies, kept as
keyed hashes; the sign-in form's CSRF token; failed sign-ins answered alike and counted;
password change; the headers every page carries."""

from datetime import timedelta

from sqlalchemy import select

from openbenefits.console.models import ConsoleSession
from openbenefits.console.sessions import LIFETIME
from openbenefits.kit.security import hash_secret
from tests.conftest import SECRET
from tests.console.conftest import PASSWORD, add_operator, csrf_in, sign_in


async def test_signing_in_opens_a_session_held_in_a_protected_cookie(open_browser, tenant, db):
    await add_operator(db, tenant.tenant_id, "ops@console.example")
    client = open_browser()
    first = await client.get("/console/password?from=home")
    assert first.status_code == 303
    assert first.headers["location"] == "/console/login?next=/console/password%3Ffrom%3Dhome"

    page = await client.get(first.headers["location"])
    assert page.status_code == 200
    nonce_cookie = page.headers["set-cookie"].lower()
    assert all(flag in nonce_cookie for flag in ("httponly", "secure", "samesite=lax"))
    answer = await client.post(
        "/console/login",
        data={
            "csrf": csrf_in(page.text),
            "email": "OPS@console.example",
            "password": PASSWORD,
            "next": "/console/password?from=home",
        },
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/password?from=home"
    cookie = next(
        header
        for header in answer.headers.get_list("set-cookie")
        if header.startswith("openbenefits_console=")
    )
    token = cookie.split(";")[0].split("=", 1)[1]
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert {"httponly", "secure", "samesite=lax", "path=/console"} <= set(flags)
    assert f"max-age={int(LIFETIME.total_seconds())}" in flags

    async with db.session() as session:
        stored = (await session.scalars(select(ConsoleSession))).one()
    assert stored.token_hash == hash_secret(SECRET.encode(), token)
    assert token not in stored.token_hash
    assert stored.expires_at - stored.created_at == LIFETIME

    home = await client.get("/console")
    assert home.status_code == 200
    assert "ops@console.example" in home.text


async def test_sign_in_goes_only_to_console_pages(open_browser, tenant, db):
    await add_operator(db, tenant.tenant_id, "ops@console.example")
    for elsewhere in ("https://evil.example/", "//evil.example/console", "/console//evil", "/x"):
        client = open_browser()
        page = await client.get("/console/login", params={"next": elsewhere})
        assert elsewhere not in page.text
        answer = await client.post(
            "/console/login",
            data={
                "csrf": csrf_in(page.text),
                "email": "ops@console.example",
                "password": PASSWORD,
                "next": elsewhere,
            },
        )
        assert answer.headers["location"] == "/console", elsewhere


async def test_the_sign_in_form_needs_its_own_csrf_token(open_browser, tenant, db):
    await add_operator(db, tenant.tenant_id, "ops@console.example")
    client = open_browser()
    form = {"email": "ops@console.example", "password": PASSWORD}
    # A page elsewhere posting the form: no nonce cookie, no token.
    refused = await client.post("/console/login", data=form)
    assert refused.status_code == 403
    assert "CSRF_TOKEN_INVALID" in refused.text
    # Another browser's token does not fit this browser's nonce.
    other = open_browser()
    stolen = csrf_in((await other.get("/console/login")).text)
    await client.get("/console/login")
    refused = await client.post("/console/login", data={**form, "csrf": stolen})
    assert refused.status_code == 403
    assert "openbenefits_console=" not in refused.headers.get("set-cookie", "")


async def test_a_wrong_password_and_an_unknown_address_are_answered_alike(open_browser, tenant, db):
    await add_operator(db, tenant.tenant_id, "ops@console.example")
    answers = []
    for email, password in (
        ("ops@console.example", "not the password"),
        ("nobody@console.example", PASSWORD),
    ):
        client = open_browser()
        page = await client.get("/console/login")
        answer = await client.post(
            "/console/login",
            data={"csrf": csrf_in(page.text), "email": email, "password": password},
        )
        assert answer.status_code == 401
        assert "Wrong email or password. (INVALID_CREDENTIALS)" in answer.text
        assert f'value="{email}"' in answer.text
        assert "openbenefits_console=" not in answer.headers.get("set-cookie", "")
        answers.append(answer.text.replace(email, "EMAIL").replace(csrf_in(answer.text), "CSRF"))
    assert answers[0] == answers[1]


async def test_five_failures_lock_the_account_and_the_page_says_so(open_browser, tenant, db, clock):
    await add_operator(db, tenant.tenant_id, "ops@console.example")
    client = open_browser()
    for _ in range(5):
        page = await client.get("/console/login")
        data = {"csrf": csrf_in(page.text), "email": "ops@console.example", "password": "nope"}
        assert (await client.post("/console/login", data=data)).status_code == 401
    page = await client.get("/console/login")
    data = {"csrf": csrf_in(page.text), "email": "ops@console.example", "password": PASSWORD}
    locked = await client.post("/console/login", data=data)
    assert locked.status_code == 401
    assert "OPERATOR_LOCKED" in locked.text
    clock.advance(timedelta(minutes=16))
    assert (await client.post("/console/login", data=data)).status_code == 303


async def test_signing_out_ends_the_session(signed_in, db):
    browser = await signed_in()
    answer = await browser.post("/console/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login"
    async with db.session() as session:
        assert (await session.scalars(select(ConsoleSession))).all() == []
    assert (await browser.client.get("/console")).status_code == 303


async def test_a_session_ends_after_its_lifetime(signed_in, clock):
    browser = await signed_in()
    clock.advance(LIFETIME - timedelta(seconds=1))
    assert (await browser.client.get("/console")).status_code == 200
    clock.advance(timedelta(seconds=1))
    assert (await browser.client.get("/console")).status_code == 303


async def test_a_stolen_cookie_value_from_the_database_opens_nothing(signed_in, db, open_browser):
    await signed_in()
    async with db.session() as session:
        stored = (await session.scalars(select(ConsoleSession))).one()
    thief = open_browser()
    thief.cookies.set("openbenefits_console", stored.token_hash, domain="testserver")
    assert (await thief.get("/console")).status_code == 303


async def test_changing_the_password(signed_in, open_browser, db):
    browser = await signed_in()
    elsewhere = open_browser()
    await sign_in(elsewhere, browser.email)

    mismatch = await browser.post(
        "/console/password", current=PASSWORD, new="a new long password", repeated="another one"
    )
    assert mismatch.status_code == 422
    assert 'id="password-repeated-error"' in mismatch.text
    assert "PASSWORD_MISMATCH" in mismatch.text
    wrong = await browser.post(
        "/console/password",
        current="wrong",
        new="a new long password",
        repeated="a new long password",
    )
    assert wrong.status_code == 422
    assert 'id="password-current-error"' in wrong.text
    short = await browser.post("/console/password", current=PASSWORD, new="short", repeated="short")
    assert 'id="password-new-error"' in short.text
    assert "PASSWORD_LENGTH" in short.text

    changed = await browser.post(
        "/console/password",
        current=PASSWORD,
        new="a new long password",
        repeated="a new long password",
    )
    assert changed.status_code == 303
    assert (await browser.client.get("/console")).status_code == 200
    # Every other browser signs in again, with the new password.
    assert (await elsewhere.get("/console")).status_code == 303
    await sign_in(open_browser(), browser.email, "a new long password")


async def test_every_page_forbids_framing_and_outside_assets(signed_in):
    browser = await signed_in()
    for path in ("/console", "/console/login", "/console/password", "/console/nothing"):
        answer = await browser.client.get(path)
        assert answer.headers["content-type"].startswith("text/html")
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["cache-control"] == "no-store"
        assert "http:" not in answer.text
        assert "https:" not in answer.text
