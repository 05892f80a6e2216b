"""The console's account pages: sign-in, sign-out, password change, and the home page.

Thin, as the API's routers are: read the form, call the service, answer a page or a redirect
(Post/Redirect/Get). Every route is a ``ConsoleRoute``, so it runs the API's one pipeline with a
console guard (console/auth.py) and a unit of work.
"""

import secrets
from http import HTTPStatus
from importlib.resources import files
from typing import Annotated

from fastapi import APIRouter, FastAPI, Form, Query, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse, RedirectResponse, Response

from openbenefits.console import operators
from openbenefits.console.auth import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Account,
    Home,
    SignIn,
)
from openbenefits.console.models import Operator
from openbenefits.console.pages import (
    PREFIX,
    SIGN_IN_PATH,
    install_pages,
    next_page,
    refuse_form,
    render,
)
from openbenefits.console.sessions import (
    LIFETIME,
    close_other_sessions,
    close_session,
    csrf_token,
    open_session,
)
from openbenefits.kit.errors import AppError, InvalidRequest
from openbenefits.kit.routing import ClockDep, SessionDep, SettingsDep, TransactionalRoute
from openbenefits.tenancy import service as tenancy

router = APIRouter(prefix=PREFIX, route_class=TransactionalRoute, include_in_schema=False)
STATIC_PATH = f"{PREFIX}/static"

# A form field's text: bounded, as every input is.
Field = Annotated[str, Form(max_length=1000)]


def _cookie(
    response: Response, name: str, value: str, *, path: str, seconds: int, secure: bool
) -> None:
    response.set_cookie(
        name, value, max_age=seconds, path=path, secure=secure, httponly=True, samesite="lax"
    )


@router.get("/login")
async def sign_in_page(
    request: Request,
    _form: SignIn,
    settings: SettingsDep,
    then: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
) -> HTMLResponse:
    nonce = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(32)
    response = render(
        request,
        "login.html",
        None,
        csrf=csrf_token(settings.signing_key, nonce),
        next=next_page(then),
    )
    _cookie(
        response,
        SIGN_IN_COOKIE,
        nonce,
        path=SIGN_IN_PATH,
        seconds=int(LIFETIME.total_seconds()),
        secure=settings.console_secure_cookies,
    )
    return response


@router.post("/login")
async def sign_in(
    request: Request,
    _form: SignIn,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    email: Field = "",
    password: Field = "",
    then: Annotated[str, Form(alias="next", max_length=2000)] = PREFIX,
) -> Response:
    now = clock.now()
    outcome = await operators.sign_in(session, email, password, now)
    if not isinstance(outcome, Operator):
        # 401, so that the rate limits count it among the address's failed authentications.
        return render(
            request,
            "login.html",
            None,
            status=HTTPStatus.UNAUTHORIZED,
            csrf=csrf_token(settings.signing_key, request.cookies[SIGN_IN_COOKIE]),
            next=next_page(then),
            errors={"form": f"{outcome.message} ({outcome.code})"},
            values={"email": email},
        )
    token = await open_session(session, settings.signing_key, outcome, now)
    response = RedirectResponse(next_page(then), status_code=HTTPStatus.SEE_OTHER)
    _cookie(
        response,
        SESSION_COOKIE,
        token,
        path=PREFIX,
        seconds=int(LIFETIME.total_seconds()),
        secure=settings.console_secure_cookies,
    )
    response.delete_cookie(SIGN_IN_COOKIE, path=SIGN_IN_PATH)
    return response


@router.post("/logout")
async def sign_out(operator: Account, session: SessionDep) -> Response:
    await close_session(session, operator.session_id)
    response = RedirectResponse(SIGN_IN_PATH, status_code=HTTPStatus.SEE_OTHER)
    response.delete_cookie(SESSION_COOKIE, path=PREFIX)
    return response


@router.get("/password")
async def password_page(request: Request, operator: Account) -> HTMLResponse:
    return render(request, "password.html", operator)


@router.post("/password")
async def change_password(
    request: Request,
    operator: Account,
    session: SessionDep,
    clock: ClockDep,
    current: Field = "",
    new: Field = "",
    repeated: Field = "",
) -> Response:
    try:
        if new != repeated:
            raise InvalidRequest(
                "The new password and its repetition differ.",
                code="PASSWORD_MISMATCH",
                reference="repeated",
            )
        account = await session.get_one(Operator, operator.operator_id)
        await operators.change_password(session, account, current, new, clock.now())
    except AppError as error:
        raise refuse_form(
            request,
            "password.html",
            operator,
            error,
            {},
            {"INVALID_CREDENTIALS": "current", "PASSWORD_LENGTH": "new", "repeated": "repeated"},
        ) from error
    await close_other_sessions(session, operator.operator_id, keep=operator.session_id)
    return RedirectResponse(f"{PREFIX}?done=password", status_code=HTTPStatus.SEE_OTHER)


@router.get("")
async def home(
    request: Request,
    operator: Home,
    session: SessionDep,
    done: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    tenant = await tenancy.get_tenant(session, operator.tenant_id)
    return render(request, "home.html", operator, tenant=tenant, done=done)


def install(app: FastAPI) -> None:
    """Serves the console on ``app``: its pages, its error pages and its own assets."""
    install_pages(app)
    app.include_router(router)
    directory = files("openbenefits.console") / "static"
    app.mount(STATIC_PATH, StaticFiles(directory=str(directory)), name="console-static")
