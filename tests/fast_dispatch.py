"""Seeing and switching off the fast dispatch (kit/fast.py) in tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp

from openbenefits.kit.fast import FastCall, FastRoutes, exception_handling


def _stack(app: FastAPI) -> ASGIApp:
    """``app``'s middleware stack, built as the first request would build it."""
    if app.middleware_stack is None:
        app.middleware_stack = app.build_middleware_stack()
    return app.middleware_stack


def dispatch_of(app: FastAPI) -> FastRoutes:
    """The fast dispatch in ``app``'s middleware stack."""
    dispatch = exception_handling(_stack(app)).app
    assert isinstance(dispatch, FastRoutes)
    return dispatch


def without_dispatch(app: FastAPI) -> None:
    """Every request of ``app`` goes through the router's walk and the framework's handler."""
    exception_handling(_stack(app)).app = dispatch_of(app).app


@contextmanager
def dispatched() -> Iterator[list[tuple[str, str]]]:
    """The routes (method, template) whose endpoint the fast dispatch called in the block."""
    called: list[tuple[str, str]] = []
    endpoint_call = FastCall.__call__

    async def counted(self: FastCall, values: dict[str, Any], request: Request) -> Response:
        called.append((request.method, self.route.path))
        return await endpoint_call(self, values, request)

    with patch.object(FastCall, "__call__", counted):
        yield called
