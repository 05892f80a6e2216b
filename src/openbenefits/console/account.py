"""The console's account pages: sign-in, sign-out, password change."""

import secrets
from http import HTTPStatus
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from openbenefits.console import operators
from openbenefits.console.auth import (
    SESSION_COOKIE,
    SIGN_IN_COOKIE,
    Account,
    SignIn,
)
from openbenefits.console.forms import PostedForm, refused_with
from openbenefits.console.models import Operator
from openbenefits.console.pages import PREFIX, SIGN_IN_PATH, FormState, next_page, render
from openbenefits.console.sessions import (
    LIFETIME,
    close_other_sessions,
    close_session,
    csrf_token,
    open_session,
)
from openbenefits.kit.errors import InvalidRequest
from openbenefits.kit.routing import ClockDep, SessionDep, SettingsDep, TransactionalRoute

router = APIRouter(prefix=PREFIX, route_class=TransactionalRoute, include_in_schema=False)


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
) -> Response:
    form = await PostedForm.read(request)
    email, then, now = form.get("email"), form.get("next"), clock.now()
    outcome = await operators.sign_in(session, email, form.get("password"), now)
    if not isinstance(outcome, Operator):
        # 401, so that the rate limits count it among the address's failed authentications.
        return render(
            request,
            "login.html",
            None,
            status=HTTPStatus.UNAUTHORIZED,
            csrf=csrf_token(settings.signing_key, request.cookies[SIGN_IN_COOKIE]),
            next=next_page(then),
            refused=FormState(
                "login", {"form": f"{outcome.message} ({outcome.code})"}, {"email": email}
            ),
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
    request: Request, operator: Account, session: SessionDep, clock: ClockDep
) -> Response:
    form = await PostedForm.read(request)
    fields = {"INVALID_CREDENTIALS": "current", "PASSWORD_LENGTH": "new"}

    async def page(refused: FormState) -> HTMLResponse:
        return render(request, "password.html", operator, refused=refused)

    async with refused_with(session, form, name="password", page=page, fields=fields):
        if form.get("new") != form.get("repeated"):
            raise InvalidRequest(
                "The new password and its repetition differ.",
                code="PASSWORD_MISMATCH",
                reference="repeated",
            )
        account = await session.get_one(Operator, operator.operator_id)
        await operators.change_password(
            session, account, form.get("current"), form.get("new"), clock.now()
        )
    await close_other_sessions(session, operator.operator_id, keep=operator.session_id)
    return RedirectResponse(f"{PREFIX}?done=password", status_code=HTTPStatus.SEE_OTHER)
