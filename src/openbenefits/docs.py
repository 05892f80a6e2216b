"""The API's documentation pages, whole without internet: Swagger UI at ``/docs`` and ReDoc at
``/redoc``, their scripts, styles and icon served by the service itself from the files the
``fastapi-offline`` package ships (self-hosted services often have no way out to a CDN); and
the catalogue of error codes at ``/errors`` (JSON, or a page for a browser), read from the
source by kit/error_catalogue.py.

Nothing on the pages reaches elsewhere: no web fonts, and Swagger UI's online validator badge
is off (it would send the document's address to validator.swagger.io).
"""

from dataclasses import asdict
from html import escape
from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from openbenefits.kit.error_catalogue import Entry, catalogue

ASSETS = "/docs/assets"
_FILES = files("fastapi_offline") / "static"


def install(app: FastAPI) -> None:
    """Serves the pages and their assets on ``app`` (created with ``docs_url=None`` and
    ``redoc_url=None``), as plain routes beside the API's, as FastAPI serves its own."""

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} — ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    async def errors(request: Request) -> Response:
        if not hasattr(app.state, "error_catalogue"):
            app.state.error_catalogue = catalogue(app)
        entries: list[Entry] = app.state.error_catalogue
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(_errors_page(app.title, entries))
        return JSONResponse({"codes": [asdict(entry) for entry in entries]})

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/errors", errors, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=str(_FILES)), name="docs-assets")


def _errors_page(title: str, entries: list[Entry]) -> str:
    rows = "".join(
        "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>".format(
            escape(entry.code),
            escape(", ".join(str(status) for status in entry.statuses)),
            escape(", ".join(entry.surfaces)),
            "<br>".join(escape(meaning) for meaning in entry.meanings),
        )
        for entry in entries
    )
    return (
        f"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>{escape(title)} — error "
        "codes</title><style>body{font-family:sans-serif;margin:2em}td,th{padding:.3em .6em;"
        "text-align:left;vertical-align:top;border-bottom:1px solid #ddd}</style></head><body>"
        f"<h1>{escape(title)} — error codes</h1><p>Every code the service answers, with its "
        "statuses, the surfaces whose operations answer it and what it means ({…} is filled "
        "in from the request). Each operation lists its own in the API document (/docs).</p>"
        "<table><thead><tr><th>code</th><th>status</th><th>surfaces</th><th>meaning</th></tr>"
        f"</thead><tbody>{rows}</tbody></table></body></html>"
    )
