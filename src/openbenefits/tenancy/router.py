"""Public tenancy endpoints: the OAuth token endpoint of the loyalty surface and the studio
surface's ``HEAD`` key check."""

import json
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from starlette.routing import Match
from starlette.types import Scope

from openbenefits.kit.errors import InvalidRequest, Unauthorized, UnsupportedMediaType
from openbenefits.kit.routing import (
    ClockDep,
    ReadOnlyRoute,
    SessionDep,
    SettingsDep,
    TransactionalRoute,
)
from openbenefits.kit.schemas import problem_responses, studio_error_responses
from openbenefits.kit.security import basic_credentials
from openbenefits.tenancy import schemas, service
from openbenefits.tenancy.auth import studio_key


class KeyCheckRoute(TransactionalRoute):
    """Matches HEAD only, so that other methods on an unknown studio path answer 404, not 405."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["method"] != "HEAD":
            return Match.NONE, {}
        return super().matches(scope)


oauth_router = APIRouter(tags=["oauth"], route_class=ReadOnlyRoute)
studio_router = APIRouter(tags=["studio: authentication"], route_class=KeyCheckRoute)

_TOKEN_BODY = {
    "required": True,
    "content": {
        media: {"schema": schemas.TokenRequest.model_json_schema()}
        for media in ("application/x-www-form-urlencoded", "application/json")
    },
}


def _invalid_request(message: str) -> InvalidRequest:
    return service.oauth_error("invalid_request", message, InvalidRequest)


def _basic_client(request: Request) -> tuple[str, str] | None:
    """The client's credentials if it authenticates with ``Authorization: Basic``."""
    try:
        return basic_credentials(request.headers.get("authorization"))
    except ValueError as error:
        message = "The Authorization header is not a client's Basic credentials."
        refused = service.oauth_error("invalid_client", message, Unauthorized)
        refused.challenge = "Basic"
        raise refused from error


async def _token_request(request: Request) -> schemas.TokenRequest:
    """The token request from its body (form or JSON), its client authenticated by the body's
    ``client_secret`` or by ``Authorization: Basic`` — one of the two, not both."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if media_type == "application/x-www-form-urlencoded":
            fields: object = dict((await request.form()).items())
        elif media_type == "application/json":
            fields = json.loads(await request.body())
        else:
            raise UnsupportedMediaType(
                "Send the token request as application/x-www-form-urlencoded or JSON."
            )
    except ValueError as error:
        raise _invalid_request("The body is not a form or a JSON object.") from error
    basic = _basic_client(request)
    if basic is not None and isinstance(fields, dict):
        if "client_secret" in fields:
            raise _invalid_request(
                "Authenticate the client one way: Authorization: Basic or client_secret."
            )
        client_id, secret = basic
        if fields.get("client_id", client_id) != client_id:
            raise _invalid_request("client_id is not the one in the Authorization header.")
        fields = {**fields, "client_id": client_id, "client_secret": secret}
    try:
        return schemas.TokenRequest.model_validate(fields)
    except ValidationError as error:
        raise _invalid_request(
            "grant_type, client_id and client_secret are required strings."
        ) from error


@oauth_router.post(
    "/oauth/token",
    response_model=schemas.TokenResponse,
    responses=problem_responses(400, 401, 413),
    openapi_extra={"requestBody": _TOKEN_BODY},
    summary="Issue a bearer token (OAuth 2.0 client-credentials grant)",
)
async def issue_token(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    token_request: Annotated[schemas.TokenRequest, Depends(_token_request)],
) -> schemas.TokenResponse:
    try:
        return await service.issue_access_token(
            session,
            settings.signing_key,
            token_request,
            audiences=settings.oauth_audiences,
            now=clock.now(),
            ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        )
    except Unauthorized as refused:
        # RFC 6749 §5.2: the challenge names the scheme the client authenticated with.
        if _basic_client(request) is not None:
            refused.challenge = "Basic"
        raise


@studio_router.head(
    "/v1/{path:path}",
    response_class=Response,
    responses=studio_error_responses(401),
    summary="Check an API key",
    description="Answers 200 for a valid X-API-KEY and 401 otherwise, on any studio path.",
    dependencies=[Depends(studio_key)],
)
async def check_api_key() -> Response:
    return Response(status_code=200)
