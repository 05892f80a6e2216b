"""The documentation pages work without internet: everything they load is served by the service
itself, and what they load answers."""

import re
from html.parser import HTMLParser

import httpx
import pytest

from tests.helpers import admin_headers, create_tenant, expect

PAGES = ["/docs", "/redoc"]


class _Addresses(HTMLParser):
    """Every address a page loads: attributes that name one, and the document Swagger UI's
    script asks for."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, _tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [
            value for name, value in attrs if name in ("src", "href", "spec-url") and value
        ]

    def handle_data(self, data: str) -> None:
        self.found += re.findall(r"\burl:\s*'([^']*)'", data)


@pytest.mark.parametrize("page", PAGES)
async def test_a_docs_page_loads_only_what_the_service_serves(client: httpx.AsyncClient, page):
    response = await client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    # No address elsewhere at all: not in a tag, a script or a comment.
    assert not re.search(r"https?:|//[a-z]", response.text, re.IGNORECASE), response.text
    parser = _Addresses()
    parser.feed(response.text)
    assert "/openapi.json" in parser.found
    assert len(parser.found) >= 3
    for address in parser.found:
        assert address.startswith("/"), address
        assert not address.startswith("//"), address
        loaded = await client.get(address)
        assert loaded.status_code == 200, address
        assert len(loaded.content) > 1_000, address


async def test_the_docs_scripts_are_the_whole_viewers(client: httpx.AsyncClient):
    """Not a placeholder: Swagger UI's bundle and ReDoc's standalone build, served as
    scripts."""
    for asset, marker in (
        ("swagger-ui-bundle.js", b"SwaggerUIBundle"),
        ("redoc.standalone.js", b"Redoc"),
    ):
        response = await client.get(f"/docs/assets/{asset}")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/javascript")
        assert len(response.content) > 500_000
        assert marker in response.content


async def test_authorize_in_the_docs_fetches_a_loyalty_token(app, client, settings, clock):
    """As Swagger UI's "Authorize" does with the document's client-credentials flow: the
    client's id and secret by HTTP Basic, the scopes asked for, then the token on every loyalty
    operation, each of which names the scheme."""
    document = app.openapi()
    flow = document["components"]["securitySchemes"]["LoyaltyOAuth2"]["flows"]
    token_url = flow["clientCredentials"]["tokenUrl"]
    assert "post" in document["paths"][token_url]
    loyalty = [
        operation
        for path, item in document["paths"].items()
        if path.startswith("/customers/v2/")
        for operation in item.values()
    ]
    assert len(loyalty) > 20
    assert all(op["security"] == [{"LoyaltyOAuth2": []}] for op in loyalty)

    setup = await create_tenant(client, admin_headers(settings, clock), "Docs")
    granted = await client.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "scope": " ".join(flow["clientCredentials"]["scopes"]),
        },
        auth=(setup.client_id, setup.client_secret),
    )
    token = expect(granted, 200)["access_token"]
    programs = await client.get(
        "/customers/v2/benefits/loyaltyprograms", headers={"Authorization": f"Bearer {token}"}
    )
    assert programs.status_code == 200, programs.text
