"""The console's routes, its error pages and its own assets, mounted on the app."""

from importlib.resources import files

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from openbenefits.console import account, customers, home, loyalty, modules, people, studios
from openbenefits.console.pages import PREFIX, install_pages

STATIC_PATH = f"{PREFIX}/static"


def install(app: FastAPI) -> None:
    install_pages(app)
    for pages in (account, home, studios, modules, customers, loyalty, people):
        app.include_router(pages.router)
    directory = files("openbenefits.console") / "static"
    app.mount(STATIC_PATH, StaticFiles(directory=str(directory)), name="console-static")
