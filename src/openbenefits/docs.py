"""The API's documentation pages, whole without internet: Swagger UI at ``/docs`` and ReDoc at
``/redoc``, their scripts, styles and icon served by the service itself from the files the
``fastapi-offline`` package ships (self-hosted services often have no way out to a CDN).

Nothing on the pages reaches elsewhere: no web fonts, and Swagger UI's online validator badge
is off (it would send the document's address to validator.swagger.io).
"""

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse

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

    app.add_route("/docs", swagger_ui, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=str(_FILES)), name="docs-assets")
