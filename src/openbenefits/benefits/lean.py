"""The benefit check and use in the lean lane (kit/lean.py): the reference's getBenefits,
getBenefitsByCardNumber and useBenefit for requests whose key this process knows, through the
same service functions as benefits/router.py, on a bare driver connection in autocommit.
Anything out of the common case is left to the router's routes."""

import re

from openbenefits.benefits import service
from openbenefits.benefits.rights import CardRef
from openbenefits.benefits.router import (
    MAX_CARD_LENGTH,
    MAX_KEY_LENGTH,
    READ_SCOPES,
    WRITE_SCOPES,
)
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.kit.idempotency import HEADER as IDEMPOTENCY_HEADER
from openbenefits.kit.lean import MAX_ID_DIGITS, Answer, LeanRequest, LeanRoute, json_answer

_CUSTOMER = rf"(?P<customer>[0-9]{{1,{MAX_ID_DIGITS}}})"
_IDEMPOTENCY_HEADER = IDEMPOTENCY_HEADER.lower().encode()
_CARD_FORMATS = frozenset(card_format.value for card_format in CardNumberFormat)


def _keys(request: LeanRequest) -> list[str] | None:
    keys = [value for name, value in request.query() if name == "key"]
    if len(keys) > MAX_KEY_LENGTH or any(len(key) > MAX_KEY_LENGTH for key in keys):
        return None
    return keys


async def _validate(request: LeanRequest, customer: int | CardRef) -> Answer | None:
    principal = request.principal(*READ_SCOPES)
    keys = _keys(request)
    if principal is None or keys is None:
        return None
    async with request.fetch() as fetch:
        results = await service.validate(
            fetch,
            principal,
            customer,
            keys,
            request.state.clock.now(),
        )
    return json_answer([{"key": key, "valid": valid} for key, valid in results])


async def check_by_id(request: LeanRequest) -> Answer | None:
    return await _validate(request, int(request.match["customer"]))


async def check_by_card(request: LeanRequest) -> Answer | None:
    query = dict(request.query())
    number = query.get("cardNumber", "")
    card_format = query.get("cardNumberFormat", CardNumberFormat.DECIMAL.value)
    if not 0 < len(number) <= MAX_CARD_LENGTH or card_format not in _CARD_FORMATS:
        return None
    return await _validate(request, CardRef(number, CardNumberFormat(card_format)))


async def use(request: LeanRequest) -> Answer | None:
    principal = request.principal(*WRITE_SCOPES)
    key = request.match["key"]
    # A retried request is the idempotency protocol's business: the router's route runs it.
    if principal is None or request.header(_IDEMPOTENCY_HEADER) is not None:
        return None
    async with request.fetch() as fetch:
        await service.use_on_postgresql(
            fetch,
            principal,
            int(request.match["customer"]),
            key,
            request.state.clock.now(),
        )
    return Answer(200)


ROUTES = (
    LeanRoute(
        "GET",
        "/v1/customers/benefits",
        re.compile(r"^/v1/customers/benefits$"),
        check_by_card,
    ),
    LeanRoute(
        "GET",
        "/v1/customers/{customerId}/benefits",
        re.compile(rf"^/v1/customers/{_CUSTOMER}/benefits$"),
        check_by_id,
    ),
    LeanRoute(
        "POST",
        "/v1/customers/{customerId}/benefits/{benefitKey}/use",
        re.compile(
            rf"^/v1/customers/{_CUSTOMER}/benefits/(?P<key>[^/]{{1,{MAX_KEY_LENGTH}}})/use$"
        ),
        use,
    ),
)
