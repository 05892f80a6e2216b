"""Studio Open API: partner benefits (seeds 000, 001) at the reference's paths, plus the
contingent, the usage history and reversal (documented extras beside the reference's shapes)."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Response

from openbenefits.benefits import schemas, service
from openbenefits.benefits.models import BenefitUsage, BenefitUsageReversal
from openbenefits.benefits.rights import CardRef
from openbenefits.customers.card_numbers import CardNumberFormat
from openbenefits.kit import idempotency
from openbenefits.kit.clock import Clock
from openbenefits.kit.pagination import Slice, make_slice, slice_offset
from openbenefits.kit.routing import ClockDep, SessionDep, StudioRoute, WorkDep, fast
from openbenefits.kit.schemas import Instant, ReferenceId, studio_error_responses
from openbenefits.tenancy.auth import studio_principal
from openbenefits.tenancy.principals import StudioPrincipal
from openbenefits.tenancy.scopes import StudioScope as Scope

router = APIRouter(
    prefix="/v1/customers",
    tags=["studio: benefits"],
    route_class=StudioRoute,
    responses=studio_error_responses(400, 401, 403, 404, 409),
)
# Either scope of a pair suffices.
READ_SCOPES = (Scope.CUSTOMER_BENEFIT_READ, Scope.CUSTOMER_READ)
WRITE_SCOPES = (Scope.CUSTOMER_WRITE, Scope.CUSTOMER_BENEFIT_WRITE)
Reader = Annotated[StudioPrincipal, Depends(studio_principal(*READ_SCOPES, any_of=True))]
Writer = Annotated[StudioPrincipal, Depends(studio_principal(*WRITE_SCOPES, any_of=True))]
MAX_KEY_LENGTH = 100
MAX_CARD_LENGTH = 100
CustomerId = Annotated[ReferenceId, Path(alias="customerId")]
BenefitKey = Annotated[str, Path(alias="benefitKey", max_length=MAX_KEY_LENGTH)]
Keys = Annotated[list[str] | None, Query(alias="key", max_length=MAX_KEY_LENGTH)]
At = Annotated[
    Instant | None,
    Query(
        description="Beyond the reference: answer as of this instant (ISO 8601 with an offset), "
        "past or future, from the grants' history and the ledger; now when absent."
    ),
]


def _when(clock: Clock, at: datetime | None) -> tuple[datetime, bool]:
    """The instant asked about, and whether it is one other than now (read from history)."""
    return (clock.now(), False) if at is None else (at, True)


def _validations(results: list[tuple[str, bool]]) -> list[schemas.BenefitValidationDto]:
    return [schemas.BenefitValidationDto(key=key, valid=valid) for key, valid in results]


# Before "/{customerId}/...": a literal path must match ahead of the parameter.
@router.get(
    "/benefits",
    operation_id="getBenefitsByCardNumber",
    response_model=list[schemas.BenefitValidationDto],
)
@fast
async def get_benefits_by_card_number(
    work: WorkDep,
    clock: ClockDep,
    principal: Reader,
    card_number: Annotated[
        str, Query(alias="cardNumber", min_length=1, max_length=MAX_CARD_LENGTH)
    ],
    card_number_format: Annotated[
        CardNumberFormat, Query(alias="cardNumberFormat")
    ] = CardNumberFormat.DECIMAL,
    key: Keys = None,
    at: At = None,
) -> list[schemas.BenefitValidationDto]:
    """Which of the calling partner's benefits the card's holder can use now (or ``at``), in
    this studio."""
    card = CardRef(card_number, card_number_format)
    now, as_of = _when(clock, at)
    return _validations(
        await service.validate(await work.fetch(), principal, card, key or [], now, as_of=as_of)
    )


@router.get(
    "/{customerId}/benefits",
    operation_id="getBenefits",
    response_model=list[schemas.BenefitValidationDto],
)
@fast
async def get_benefits(
    work: WorkDep,
    clock: ClockDep,
    principal: Reader,
    customer_id: CustomerId,
    key: Keys = None,
    at: At = None,
) -> list[schemas.BenefitValidationDto]:
    """Which of the calling partner's benefits (or of ``key``) the customer can use now (or
    ``at``), in this studio: the integration is active here and, away from the home studio, the
    benefit is cross-facility; no restriction is in force; a running contract grants it; the
    membership does not rest; the grant's time windows are open; every limit has a use left."""
    now, as_of = _when(clock, at)
    return _validations(
        await service.validate(
            await work.fetch(), principal, customer_id, key or [], now, as_of=as_of
        )
    )


@router.post(
    "/{customerId}/benefits/{benefitKey}/use",
    operation_id="useBenefit",
    response_class=Response,
    responses={
        200: {"description": "Benefit has been used."},
        400: {
            "headers": {
                "Link": {
                    "description": "Beyond the reference, on BENEFIT_NOT_GRANTED, "
                    "BENEFIT_OUTSIDE_TIME_WINDOW and BENEFIT_CONTINGENT_EXHAUSTED: "
                    '`</v1/customers/{customerId}/benefits/{benefitKey}/offers>; rel="offers"`, '
                    "the modules that would make the benefit valid.",
                    "schema": {"type": "string"},
                }
            }
        },
    },
)
@fast
async def use_benefit(
    work: WorkDep,
    clock: ClockDep,
    principal: Writer,
    customer_id: CustomerId,
    benefit_key: BenefitKey,
    idempotency_key: Annotated[str | None, Header(alias=idempotency.HEADER)] = None,
) -> Response:
    """Consume one use: 200 with no body, or 400 with the reason as ``errorCode``
    (``BENEFIT_NOT_FOUND``, ``BENEFIT_NOT_AVAILABLE_IN_STUDIO``, ``CUSTOMER_ACCESS_RESTRICTED``,
    ``BENEFIT_NOT_GRANTED``, ``BENEFIT_CONTRACT_IDLE``, ``BENEFIT_OUTSIDE_TIME_WINDOW``,
    ``BENEFIT_CONTINGENT_EXHAUSTED``, whose message names the limit that is full). Refusals
    that an additional module could lift carry ``Link: <.../offers>; rel="offers"``. With
    ``Idempotency-Key`` a retried request counts once."""
    await service.use(
        work, principal, customer_id, benefit_key, clock.now(), idempotency_key=idempotency_key
    )
    return Response(status_code=200)


@router.get(
    "/{customerId}/benefits/{benefitKey}/contingent",
    operation_id="getBenefitContingent",
    response_model=schemas.ContingentView,
)
async def get_benefit_contingent(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    customer_id: CustomerId,
    benefit_key: BenefitKey,
    at: At = None,
) -> schemas.ContingentView:
    """Beyond the reference: the customer's contingent of the benefit now (or ``at``), grant by
    grant and limit by limit."""
    now, as_of = _when(clock, at)
    return await service.contingent(session, principal, customer_id, benefit_key, now, as_of=as_of)


@router.get(
    "/{customerId}/benefits/{benefitKey}/check",
    operation_id="checkBenefitUse",
    response_model=schemas.BenefitCheck,
)
@fast
async def check_benefit_use(
    work: WorkDep,
    clock: ClockDep,
    principal: Reader,
    customer_id: CustomerId,
    benefit_key: BenefitKey,
    at: At = None,
) -> schemas.BenefitCheck:
    """Beyond the reference: a dry run of ``use`` now (or ``at``): whether it would be taken
    and, if not, the ``errorCode`` and message it would be refused with. Uses nothing."""
    now, as_of = _when(clock, at)
    refused = await service.check(
        await work.fetch(), principal, customer_id, benefit_key, now, as_of=as_of
    )
    return schemas.BenefitCheck(
        key=benefit_key,
        at=now,
        valid=refused is None,
        error_code=refused.code if refused else None,
        error_message=refused.message if refused else None,
    )


@router.get(
    "/{customerId}/benefits/{benefitKey}/offers",
    operation_id="getBenefitOffers",
    response_model=list[schemas.BenefitOffer],
)
async def get_benefit_offers(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    customer_id: CustomerId,
    benefit_key: BenefitKey,
) -> list[schemas.BenefitOffer]:
    """Beyond the reference: the additional modules the customer could book now that grant the
    benefit, with price, term and what each grants (an empty list when none would)."""
    return await service.offers(session, principal, customer_id, benefit_key, clock.now())


def _usage(row: tuple[BenefitUsage, BenefitUsageReversal | None]) -> schemas.UsageOut:
    usage, reversal = row
    return schemas.UsageOut(
        id=usage.id,
        customer_id=usage.customer_id,
        key=usage.benefit_key,
        studio_id=usage.studio_id,
        channel=usage.channel,
        used_at=usage.used_at,
        grant_id=usage.grant_id,
        contract_id=usage.contract_id,
        period_start=usage.period_start,
        period_end=usage.period_end,
        reversal=schemas.Reversal.model_validate(reversal) if reversal else None,
    )


@router.get(
    "/{customerId}/benefit-usages",
    operation_id="getBenefitUsages",
    response_model=Slice[schemas.UsageOut],
)
async def get_benefit_usages(
    session: SessionDep,
    clock: ClockDep,
    principal: Reader,
    customer_id: CustomerId,
    key: Annotated[str | None, Query(max_length=MAX_KEY_LENGTH)] = None,
    offset: str = "0",
    slice_size: Annotated[int, Query(alias="sliceSize", ge=1, le=500)] = 100,
) -> Slice[schemas.UsageOut]:
    """Beyond the reference: the customer's uses of the partner's benefits (or of ``key``),
    oldest first, each with its reversal; pass the answer's ``offset`` for the next slice."""
    after = slice_offset(offset)
    rows = await service.history(
        session, principal, customer_id, key, after, slice_size, clock.now()
    )
    return make_slice(rows, slice_size, offset, _usage, lambda row: row[0].id)


@router.post(
    "/{customerId}/benefit-usages/{usageId}/reversal",
    operation_id="reverseBenefitUsage",
    response_model=schemas.UsageOut,
)
async def reverse_benefit_usage(
    session: SessionDep,
    clock: ClockDep,
    principal: Writer,
    customer_id: CustomerId,
    usage_id: Annotated[ReferenceId, Path(alias="usageId")],
    body: schemas.ReversalCreate,
) -> schemas.UsageOut:
    """Beyond the reference: undo a use (a reason is required). The use goes back to its
    contingent; the ledger keeps both the use and its reversal."""
    usage, reversal = await service.reverse(
        session, principal, principal, customer_id, usage_id, body.reason, clock.now()
    )
    return _usage((usage, reversal))
