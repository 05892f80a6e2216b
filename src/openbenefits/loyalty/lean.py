"""validate-consumptions, the entitlements lookup and deposits and withdrawals of points in the
lean lane (kit/lean.py): requests with a valid loyalty bearer token carrying the route's scope
and well-formed parameters run the same service functions as loyalty/router.py on a bare driver
connection. Anything else (no token, a parameter the framework would refuse or coerce, a body
that does not validate) is left to the router's routes, which answer it."""

import json
import re
from typing import TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from openbenefits.kit.errors import Unauthorized
from openbenefits.kit.idempotency import HEADER as IDEMPOTENCY_HEADER
from openbenefits.kit.lean import MAX_ID_DIGITS, Answer, LeanRequest, LeanRoute
from openbenefits.loyalty import entitlements, points, schemas, usage
from openbenefits.loyalty.models import PointsTransactionType
from openbenefits.loyalty.router import PREFIX
from openbenefits.tenancy.principals import LoyaltyPrincipal
from openbenefits.tenancy.scopes import LoyaltyScope

_TRAVEL_DATE: TypeAdapter[schemas.TravelDate] = TypeAdapter(schemas.TravelDate)
_ENTITLEMENTS = TypeAdapter(list[schemas.Entitlement])
_ENTITLEMENT_PARAMETERS = {"travelDate", "excludeSubContracts"}
_JSON = "application/json"
_IDEMPOTENCY_HEADER = IDEMPOTENCY_HEADER.lower().encode()
M = TypeVar("M", bound=BaseModel)


def _principal(request: LeanRequest, scope: LoyaltyScope) -> LoyaltyPrincipal | None:
    """The token's principal if it verifies, its client is known here to be in force and it
    carries ``scope``; anything else (a client to look up, a retry with an ``Idempotency-Key``)
    is the framework's route's business."""
    token = request.bearer_token()
    if token is None or request.header(_IDEMPOTENCY_HEADER) is not None:
        return None
    try:
        principal = request.state.loyalty_tokens.principal(token, request.state.clock.now())
    except Unauthorized:
        return None
    if request.state.revocations.clients.get(principal.client_id) is not True:
        return None
    return principal if scope in principal.scopes else None


async def _json_body(request: LeanRequest, model: type[M]) -> M | None:
    """The body as ``model``, parsed and then validated as the framework does it. Only a body
    of declared length, which the body limit has already admitted: a chunked one could overrun
    the limit while the lane reads it, and the framework answers that."""
    content_type = request.header(b"content-type") or ""
    if (
        content_type.split(";")[0].strip().lower() != _JSON
        or request.header(b"content-length") is None
    ):
        return None
    try:
        return model.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError):
        return None


async def validate_consumptions(request: LeanRequest) -> Answer | None:
    principal = _principal(request, LoyaltyScope.LOYALTY_READ)
    if principal is None:
        return None
    data = await _json_body(request, schemas.ValidateConsumptions)
    if data is None:
        return None
    async with request.fetch() as fetch:
        result = await usage.validate_consumptions(
            fetch,
            principal,
            data,
            request.state.clock.now(),
        )
    return Answer(200, result.model_dump_json(by_alias=True).encode(), _JSON)


async def entitlements_by_customer_number(request: LeanRequest) -> Answer | None:
    principal = _principal(request, LoyaltyScope.LOYALTY_READ)
    query = request.query()
    parameters = dict(query)
    if (
        principal is None
        or len(parameters) != len(query)
        or not parameters.keys() <= _ENTITLEMENT_PARAMETERS
        or parameters.get("excludeSubContracts", "false") not in ("true", "false")
        or int(request.match["customer"]) > schemas.MAX_CUSTOMER_NUMBER
    ):
        return None
    travel = None
    if "travelDate" in parameters:
        try:
            travel = _TRAVEL_DATE.validate_python(parameters["travelDate"])
        except ValidationError:
            return None
    async with request.fetch() as fetch:
        found = await entitlements.entitlements(
            fetch,
            principal,
            int(request.match["customer"]),
            travel,
            parameters.get("excludeSubContracts") == "true",
            request.state.clock.now(),
        )
    return Answer(200, _ENTITLEMENTS.dump_json(found, by_alias=True), _JSON)


async def record_points_transaction(request: LeanRequest) -> Answer | None:
    """Deposits and withdrawals: one statement (loyalty/points.py). Refunds are left to the
    router's route, which runs them under the contract's lock."""
    principal = _principal(request, LoyaltyScope.LOYALTY_WRITE)
    if principal is None:
        return None
    data = await _json_body(request, schemas.PointsTransactionCreate)
    if data is None or data.transaction_type == PointsTransactionType.REFUND:
        return None
    async with request.fetch() as fetch:
        transaction, new = await points.record_in_one_statement(
            fetch,
            principal,
            request.match["uuid"],
            data,
            request.state.clock.now(),
        )
    return Answer(201 if new else 200, transaction.model_dump_json(by_alias=True).encode(), _JSON)


ROUTES = (
    LeanRoute(
        "POST",
        f"{PREFIX}/contracts/validate-consumptions",
        re.compile(rf"^{PREFIX}/contracts/validate-consumptions$"),
        validate_consumptions,
    ),
    LeanRoute(
        "GET",
        f"{PREFIX}/entitlements/{{customerNumber}}/by-customer-number",
        re.compile(
            rf"^{PREFIX}/entitlements/(?P<customer>[1-9][0-9]{{0,{MAX_ID_DIGITS - 1}}})"
            "/by-customer-number$"
        ),
        entitlements_by_customer_number,
    ),
    LeanRoute(
        "POST",
        f"{PREFIX}/contracts/{{uuid}}/points-transactions",
        re.compile(rf"^{PREFIX}/contracts/(?P<uuid>[^/]{{1,36}})/points-transactions$"),
        record_points_transaction,
    ),
)
