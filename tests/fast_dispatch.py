"""Seeing and switching off the fast dispatch (kit/fast.py) in tests."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest.mock import patch

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from openbenefits.kit.fast import FastCall, FastRoutes


def without_dispatch(app: FastAPI) -> None:
    """Every request of ``app`` goes through the router's walk and the framework's handler."""
    assert isinstance(app.router.middleware_stack, FastRoutes)
    app.router.middleware_stack = app.router.app


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
