"""The error codes the service answers, read from its source: what each operation can answer
(declared in the OpenAPI document, per status, with an example body) and the catalogue of every
code (``GET /errors``). Nothing here is kept by hand: a code is found where it is raised.

A code is raised where the source builds an ``AppError`` (its ``code=`` literal, or the class's
default), renders an error itself (``render_error``) or refuses a value
(``PydanticCustomError``); its meaning is the message written there. A helper that passes its
caller's code on (``code=code``, ``code=error.upper()``) raises the code each caller gives it;
a code looked up in a module's table may be any of the table's values.

What an operation can answer is found by following its endpoint through the package: every
function, class (its whole body) and type alias its source names, the dependencies and
validators those carry, transitively. The walk sees names, not the objects behind attributes of
values, so it follows annotations too (``tokens: VerifiedTokens`` leads to that class); it errs
on the side of listing a code an operation rarely answers. Added to each: the codes of the
request pipeline (idempotency, for POSTs) and of the layers every request passes (input limits,
rate limits, validation).
"""

import ast
import builtins
import importlib
import inspect
import json
import textwrap
import types
from collections.abc import Hashable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from http import HTTPStatus
from pathlib import Path
from typing import Any, cast, get_args, get_origin

from fastapi import FastAPI
from fastapi.params import Depends
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic_core import PydanticCustomError
from starlette.requests import Request

from openbenefits.kit import error_handlers, middleware, rate_limits, routing
from openbenefits.kit.context import request_id_var
from openbenefits.kit.errors import AppError

PACKAGE = "openbenefits"
# The status of a refused value: the surface's (400 on the studio surface, 422 elsewhere).
VALIDATION = 0


@dataclass(frozen=True, order=True)
class Raised:
    code: str
    status: int  # VALIDATION: the surface's answer to invalid input
    meaning: str


# --- Reading the source ---------------------------------------------------------------------


def _text(node: ast.expr | None) -> str | None:
    """A message as written: a literal, or an f-string with its holes named."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            str(part.value)
            if isinstance(part, ast.Constant)
            else "{" + ast.unparse(cast(ast.FormattedValue, part).value) + "}"
            for part in node.values
        )
    return None


def _resolve(node: ast.expr, namespace: dict[str, Any]) -> Any:
    """What a name or a dotted name stands for in ``namespace`` (None when unknown)."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id, getattr(builtins, node.id, None))
    if isinstance(node, ast.Attribute):
        owner = _resolve(node.value, namespace)
        if isinstance(owner, (types.ModuleType, type)):
            return getattr(owner, node.attr, None)
    return None


def _ours(thing: Any) -> bool:
    return str(getattr(thing, "__module__", "")).startswith(PACKAGE)


def _keyword(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


def _argument(call: ast.Call, index: int, name: str) -> ast.expr | None:
    return call.args[index] if len(call.args) > index else _keyword(call, name)


@dataclass(frozen=True)
class _Forwarding:
    """A helper that builds an error from its parameters: ``code`` computed by ``expression``
    over them, the status class named by a parameter or fixed."""

    parameters: tuple[str, ...]
    expression: ast.expr
    error: type[AppError] | str  # a class, or the parameter naming it
    message: ast.expr | None


@dataclass
class _Found:
    raised: set[Raised]
    named: set[Any]  # what the source names that the walk follows


@cache
def _parsed(thing: Any) -> tuple[ast.AST, dict[str, Any], tuple[str, ...]] | None:
    """The source of a function or class, its module's names and (a function's) parameters."""
    try:
        source = textwrap.dedent(inspect.getsource(thing))
    except (OSError, TypeError):
        return None
    tree = ast.parse(source)
    module = inspect.getmodule(thing)
    parameters: tuple[str, ...] = ()
    first = tree.body[0] if tree.body else None
    if isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parameters = tuple(a.arg for a in first.args.args + first.args.kwonlyargs)
    return tree, dict(vars(module)) if module else {}, parameters


def _codes_in(expression: ast.expr, namespace: dict[str, Any]) -> list[tuple[str, int | None]]:
    """The codes a code expression can be, each with the status its table gives it: a literal
    (or a module's constant), either branch of a conditional, any value of a table (looked up,
    or with ``.get``)."""
    if isinstance(expression, ast.Constant) and isinstance(expression.value, str):
        return [(expression.value, None)]
    if isinstance(expression, ast.Name) and isinstance(namespace.get(expression.id), str):
        return [(namespace[expression.id], None)]
    if isinstance(expression, ast.IfExp):
        return _codes_in(expression.body, namespace) + _codes_in(expression.orelse, namespace)
    table: Any = None
    if isinstance(expression, ast.Subscript):
        table = _resolve(expression.value, namespace)
    elif isinstance(expression, ast.Call) and isinstance(expression.func, ast.Attribute):
        looked_up = expression.func.attr == "get"
        table = _resolve(expression.func.value, namespace) if looked_up else None
    if isinstance(table, dict):
        return [
            (value, key if isinstance(key, int) else None)
            for key, value in table.items()
            if isinstance(value, str)
        ]
    return []


def _meaning(node: ast.expr | None, fallback: str, namespace: dict[str, Any]) -> str:
    """The message written at a raise site (a module's text it formats included), or
    ``fallback`` where it is only placeholders."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        node = node.func.value  # TEXT.format(...)
    if isinstance(node, ast.Name) and isinstance(namespace.get(node.id), str):
        text: str | None = namespace[node.id]
    else:
        text = _text(node)
    if text is None:
        return fallback
    words = "".join(c for part in text.split("{") for c in part.split("}")[-1] if c.isalpha())
    return text if len(words) >= 3 else fallback


@cache
def _forwards(thing: Any) -> tuple[_Forwarding, ...]:
    """The errors ``thing`` builds from its parameters."""
    parsed = _parsed(thing)
    if parsed is None or not parsed[2]:
        return ()
    tree, namespace, parameters = parsed
    found = []
    for call in (node for node in ast.walk(tree) if isinstance(node, ast.Call)):
        code = _keyword(call, "code")
        if code is None or _codes_in(code, namespace):
            continue
        target = _resolve(call.func, namespace)
        message = _argument(call, 0, "message")
        if isinstance(target, type) and issubclass(target, AppError):
            found.append(_Forwarding(parameters, code, target, message))
        elif isinstance(call.func, ast.Name) and call.func.id in parameters:
            # ``status(message, code=...)``: the class is the caller's.
            found.append(_Forwarding(parameters, code, call.func.id, message))
    return tuple(found)


@cache
def _read(thing: Any) -> _Found:
    found = _Found(set(), set())
    parsed = _parsed(thing)
    if parsed is None:
        return found
    tree, namespace, _ = parsed
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            found.raised |= _raised_by(node, namespace)
        if isinstance(node, (ast.Name, ast.Attribute)) and isinstance(node.ctx, ast.Load):
            target = _resolve(node, namespace)
            if target is not None and _hashable(target):
                found.named.add(target)
    return found


def _hashable(thing: Any) -> bool:
    try:
        hash(thing)
    except TypeError:
        return False
    return True


def _raised_by(call: ast.Call, namespace: dict[str, Any]) -> set[Raised]:
    target = _resolve(call.func, namespace)
    message = _argument(call, 0, "message")
    raised: set[Raised] = set()
    if isinstance(target, type) and issubclass(target, AppError):
        code = _keyword(call, "code")
        meaning = _meaning(message, target.default_message, namespace)
        codes = [(target.default_code, None)] if code is None else _codes_in(code, namespace)
        raised |= {Raised(c, s or target.status_code, meaning) for c, s in codes}
    elif target is error_handlers.render_error and len(call.args) >= 4:
        status = call.args[1]
        number = status.value if isinstance(status, ast.Constant) else None
        number = number if isinstance(number, int) else VALIDATION
        meaning = _meaning(call.args[3], "The request is not valid.", namespace)
        raised |= {Raised(c, s or number, meaning) for c, s in _codes_in(call.args[2], namespace)}
    elif target is PydanticCustomError and len(call.args) >= 2:
        for found, _ in _codes_in(call.args[0], namespace):
            raised.add(Raised(found, VALIDATION, _meaning(call.args[1], found, namespace)))
    if callable(target) and _ours(target) and _hashable(target):
        for forwarding in _forwards(target):
            raised |= _forwarded(forwarding, call, namespace)
    return raised


def _forwarded(forwarding: _Forwarding, call: ast.Call, namespace: dict[str, Any]) -> set[Raised]:
    """What a call of a forwarding helper raises, its literal arguments put in."""
    bound: dict[str, ast.expr] = dict(zip(forwarding.parameters, call.args, strict=False))
    bound |= {keyword.arg: keyword.value for keyword in call.keywords if keyword.arg}
    values = {
        name: argument.value
        if isinstance(argument, ast.Constant)
        else _resolve(argument, namespace)
        for name, argument in bound.items()
    }
    try:
        code = eval(  # noqa: S307 - our own source, evaluated over literal arguments only
            compile(ast.Expression(forwarding.expression), "<code>", "eval"),
            {"__builtins__": {}},
            values,
        )
    except Exception:
        return set()
    error = forwarding.error if isinstance(forwarding.error, type) else values.get(forwarding.error)
    if not (isinstance(code, str) and isinstance(error, type) and issubclass(error, AppError)):
        return set()
    message = forwarding.message
    if isinstance(message, ast.Name) and isinstance(bound.get(message.id), ast.expr):
        message = bound[message.id]
    return {Raised(code, error.status_code, _meaning(message, error.default_message, namespace))}


# --- Following an operation through the package ------------------------------------------------


def _parts(thing: Any) -> Iterator[Any]:
    """What the walk follows from ``thing``: a function or a class of the package itself; the
    type arguments and metadata of an alias; a dependency's callable; a validator's function;
    an instance's class."""
    if get_origin(thing) is not None:
        yield from get_args(thing)
        yield from getattr(thing, "__metadata__", ())
    elif isinstance(thing, Depends):
        yield thing.dependency
    elif inspect.isfunction(thing) or inspect.isclass(thing):
        if _ours(thing):
            yield from _read(cast(Hashable, thing)).named
    elif _ours(type(thing)):
        yield type(thing)
    elif type(thing).__module__.startswith("pydantic") and callable(getattr(thing, "func", None)):
        yield thing.func  # AfterValidator and its kin


def reachable(starts: Iterable[Any]) -> set[Raised]:
    """The codes raised by ``starts`` and by what they lead to."""
    seen: set[Any] = set()
    raised: set[Raised] = set()
    pending = [s for s in starts if _hashable(s)]
    while pending:
        thing = pending.pop()
        if thing in seen:
            continue
        seen.add(thing)
        if (inspect.isfunction(thing) or inspect.isclass(thing)) and _ours(thing):
            raised |= _read(cast(Hashable, thing)).raised
        pending += [part for part in _parts(thing) if _hashable(part) and part not in seen]
    return raised


# --- Operations and the catalogue --------------------------------------------------------------

# The layers every request passes, and what they answer: input limits, rate limits, the
# rendering of invalid input and of the framework's own refusals.
_EVERY_REQUEST: tuple[Any, ...] = (
    middleware.NulMiddleware,
    rate_limits.RateLimitMiddleware,
    error_handlers.handle_validation_error,
)
_BODIES: tuple[Any, ...] = (middleware.JsonDepthMiddleware, middleware.BodyLimitMiddleware)


def operation_codes(route: APIRoute) -> frozenset[Raised]:
    """The codes ``route`` can answer."""
    pipeline = "POST" in (route.methods or ()) and isinstance(route, routing.TransactionalRoute)
    return _codes_of_operation(
        route.endpoint,
        tuple(dependency.call for dependency in route.dependant.dependencies),
        body=route.body_field is not None,
        idempotent=pipeline,
    )


@cache
def _codes_of_operation(
    endpoint: Any, dependencies: tuple[Any, ...], *, body: bool, idempotent: bool
) -> frozenset[Raised]:
    # Routes are built once, at import, and every app shares them: so does this answer.
    starts: list[Any] = [endpoint, *dependencies, *_EVERY_REQUEST]
    if body:
        starts += _BODIES
    if idempotent:
        starts.append(routing.TransactionalRoute)
    return frozenset(reachable(starts))


def _modules() -> Iterator[types.ModuleType]:
    """Every module of the package (its folders, namespace packages included), but the
    migrations."""
    root = Path(importlib.import_module(PACKAGE).__file__ or "").parent
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root.parent).with_suffix("").parts
        if "migrations" not in parts:
            yield importlib.import_module(".".join(p for p in parts if p != "__init__"))


def _defined_in(module: types.ModuleType) -> Iterator[Any]:
    for thing in vars(module).values():
        if (
            inspect.isfunction(thing) or inspect.isclass(thing)
        ) and thing.__module__ == module.__name__:
            yield thing


def every_code() -> set[Raised]:
    """Every code raised anywhere in the package, by an operation or not."""
    # A class is read whole, its methods with it.
    return {
        raised
        for module in _modules()
        for thing in _defined_in(module)
        for raised in _read(thing).raised
    }


# --- What clients see: the OpenAPI document and the catalogue -----------------------------------

_EXAMPLE_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def surface_of(path: str) -> str:
    if path.startswith("/v1/"):
        return "studio"
    if path.startswith("/customers/v2/"):
        return "loyalty"
    if path.startswith("/admin/"):
        return "admin"
    return "oauth" if path.startswith("/oauth/") else "operations"


def _status(raised: Raised, path: str) -> int:
    return raised.status or error_handlers.validation_status(path)


def _example(app: FastAPI, method: str, path: str, status: int, raised: Raised) -> Any:
    """The body the service answers, rendered by its own renderer."""
    request = Request(
        {
            "type": "http",
            "method": method,
            "path": path,
            "headers": [],
            "query_string": b"",
            "app": app,
        }
    )
    token = request_id_var.set(_EXAMPLE_TRACE)
    try:
        response = error_handlers.render_error(request, status, raised.code, raised.meaning)
    finally:
        request_id_var.reset(token)
    return response.media_type, json.loads(bytes(response.body))


def _routes(app: FastAPI) -> Iterator[tuple[str, str, APIRoute]]:
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in sorted(route.methods or ()):
                yield method, str(context.path_format), route


def declare_codes(app: FastAPI) -> None:
    """Documents on every operation of the OpenAPI document the error codes it can answer, per
    status, each with the body it comes in; error statuses no code stands behind are left
    out."""

    def declare(document: dict[str, Any]) -> None:
        for method, path, route in _routes(app):
            operation = document["paths"].get(path, {}).get(method.lower())
            if operation is not None:
                _declare(app, method, path, operation, operation_codes(route))

    routing.extend_openapi(app, declare)


def _declare(
    app: FastAPI, method: str, path: str, operation: dict[str, Any], codes: frozenset[Raised]
) -> None:
    by_status: dict[int, list[Raised]] = {}
    for raised in sorted(codes):
        by_status.setdefault(_status(raised, path), []).append(raised)
    responses = operation["responses"]
    for status in [s for s in responses if s[0] in "45" and int(s) not in by_status]:
        del responses[status]
    for status, answered in sorted(by_status.items()):
        examples: dict[str, Any] = {}
        media_type = "application/json"
        for one in answered:
            media_type, body = _example(app, method, path, status, one)
            examples.setdefault(one.code, {"summary": one.meaning, "value": body})
        listed = "\n".join(
            f"- `{code}`: {example['summary']}" for code, example in examples.items()
        )
        schema = "ErrorResponse" if surface_of(path) == "studio" else "ProblemDetails"
        entry = responses.setdefault(str(status), {})
        entry["description"] = f"{HTTPStatus(status).phrase}. Error codes:\n\n{listed}"
        entry["content"] = {
            media_type: {"schema": {"$ref": f"#/components/schemas/{schema}"}, "examples": examples}
        }


@dataclass(frozen=True)
class Entry:
    code: str
    statuses: list[int | str]
    surfaces: list[str]
    meanings: list[str]


def catalogue(app: FastAPI) -> list[Entry]:
    """Every code the service raises: its statuses, the surfaces whose operations answer it,
    what it means."""
    surfaces: dict[str, set[str]] = {}
    for _, path, route in _routes(app):
        for raised in operation_codes(route):
            surfaces.setdefault(raised.code, set()).add(surface_of(path))
    entries: dict[str, tuple[set[int | str], set[str]]] = {}
    for raised in every_code():
        statuses, meanings = entries.setdefault(raised.code, (set(), set()))
        statuses.add(raised.status or "400 on the studio surface, 422 elsewhere")
        meanings.add(raised.meaning)
    return [
        Entry(
            code,
            sorted(statuses, key=str),
            sorted(surfaces.get(code, {"internal"})),
            sorted(meanings),
        )
        for code, (statuses, meanings) in sorted(entries.items())
    ]
