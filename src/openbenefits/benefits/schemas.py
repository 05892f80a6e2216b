"""Wire shapes: the reference's BenefitValidationDto, the extra studio views (contingent, usage
history, reversal) and the admin API's definitions and grants."""

from datetime import datetime, time
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, model_validator

from openbenefits.benefits.models import ContingentPeriod, UsageChannel, Weekday
from openbenefits.contracts.schemas import AdditionalModule
from openbenefits.kit.schemas import (
    Id,
    PatchModel,
    RequestModel,
    ResponseModel,
    StudioRequestModel,
    StudioResponseModel,
)

# Keys travel in URL paths and query strings: keep them to characters that need no escaping.
BenefitKey = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]


class BenefitValidationDto(BaseModel):
    """Whether the customer can use the benefit now, in the calling studio."""

    key: str
    valid: bool


# Admin: definitions and grants


class BenefitCreate(RequestModel):
    key: BenefitKey
    name: Annotated[str, Field(min_length=1, max_length=200)]
    cross_facility: bool = False


class BenefitUpdate(PatchModel):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    cross_facility: bool | None = None


class Contingent(RequestModel):
    uses: Annotated[int, Field(ge=1, le=1_000_000_000)]
    period: ContingentPeriod


def _local(moment: time) -> time:
    if moment.tzinfo is not None:
        raise ValueError("A local time of day, without an offset: HH:MM.")
    return moment


LocalTime = Annotated[time, AfterValidator(_local)]


class TimeWindow(RequestModel):
    """Local hours ``[start, end)`` on ``days``, in the zone of the studio where the benefit is
    used. An ``end`` of ``00:00`` is the day's end; a range across midnight is two windows."""

    days: Annotated[list[Weekday], Field(min_length=1, max_length=7)]
    start: LocalTime
    end: LocalTime

    @model_validator(mode="after")
    def ordered(self) -> "TimeWindow":
        if len(set(self.days)) != len(self.days):
            raise ValueError("Name each day once.")
        if self.end != time.min and self.end <= self.start:
            raise ValueError("end must be after start (00:00 for the day's end).")
        return self

    def stored(self) -> dict[str, object]:
        return {
            "days": [day.value for day in self.days],
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


class GrantCreate(RequestModel):
    """Exactly one of ``rateId`` and ``additionalModuleId``. Limits: ``contingents`` (several
    at once, one per period: a use must fit them all) or ``contingent`` (one); with neither,
    unlimited. ``timeWindows``: when it may be used; without, at any time."""

    rate_id: Id | None = None
    additional_module_id: Id | None = None
    contingent: Contingent | None = None
    contingents: Annotated[list[Contingent], Field(max_length=len(ContingentPeriod))] = []
    time_windows: Annotated[list[TimeWindow], Field(min_length=1, max_length=50)] | None = None

    @model_validator(mode="after")
    def one_source(self) -> "GrantCreate":
        if (self.rate_id is None) == (self.additional_module_id is None):
            raise ValueError("Give exactly one of rateId and additionalModuleId.")
        if self.contingent is not None and self.contingents:
            raise ValueError("Give contingents or contingent, not both.")
        periods = [limit.period for limit in self.limits()]
        if len(set(periods)) != len(periods):
            raise ValueError("One contingent per period: a use must fit each of them.")
        return self

    def limits(self) -> list[Contingent]:
        return [self.contingent] if self.contingent is not None else self.contingents


class ContingentOut(ResponseModel):
    uses: int
    period: ContingentPeriod


class TimeWindowOut(ResponseModel):
    days: list[Weekday]
    start: str = Field(description="Local time, HH:MM:SS.")
    end: str = Field(description="Local time, HH:MM:SS; 00:00:00 is the day's end.")


class GrantOut(ResponseModel):
    id: int
    benefit_id: int
    rate_id: int | None
    additional_module_id: int | None
    contingents: list[ContingentOut]  # empty: unlimited
    time_windows: list[TimeWindowOut] | None  # None: at any time
    created_at: datetime
    removed_at: datetime | None


class BenefitOut(ResponseModel):
    id: int
    partner_id: int
    key: str
    name: str
    cross_facility: bool
    grants: list[GrantOut]


# Studio extras: contingent, history, reversal, offers


class LimitTerms(StudioResponseModel):
    limit: int
    period: ContingentPeriod


class GrantTerms(StudioResponseModel):
    """What a module would grant of a benefit: within each of ``limits`` (none: unlimited), at
    the hours of ``timeWindows`` (none: at any time)."""

    key: str
    limits: list[LimitTerms]
    time_windows: str | None = Field(description="Days and local hours, e.g. MONDAY 10:00-16:00.")


class BenefitOffer(StudioResponseModel):
    """An additional module the customer's contract could book now, and what it would grant."""

    contract_id: int = Field(description="The customer's main contract it would be booked onto.")
    additional_module: AdditionalModule
    grants: list[GrantTerms]


class LimitContingent(StudioResponseModel):
    """One of a grant's stacked limits in its period running at the instant asked about."""

    period: ContingentPeriod
    limit: int
    used: int
    remaining: int
    period_start: datetime
    period_end: datetime


class GrantContingent(StudioResponseModel):
    """A grant held through a contract. The headline figures are its binding limit's (the one
    with the fewest uses left); ``remaining`` is what fits every limit; ``limits`` lists each."""

    grant_id: int
    source: Literal["RATE", "ADDITIONAL_MODULE"]
    contract_id: int
    limit: int | None  # None: unlimited
    period: ContingentPeriod | None
    used: int
    remaining: int | None
    period_start: datetime | None
    period_end: datetime | None
    limits: list[LimitContingent]
    time_windows: str | None = Field(description="When it may be used, if not at any time.")


class ContingentView(StudioResponseModel):
    """A customer's contingent of one benefit at an instant (now unless asked about another):
    the grants' figures added up. ``limit`` and
    ``remaining`` are None when any grant is unlimited; ``periodStart``/``periodEnd`` bound the
    window in which all the figures hold (the latest start, the earliest end)."""

    key: str
    limit: int | None
    used: int
    remaining: int | None
    period_start: datetime | None
    period_end: datetime | None
    grants: list[GrantContingent]


class BenefitCheck(StudioResponseModel):
    """A dry run of a use: the verdict at ``at`` and, when not valid, the refusal a use would
    meet (the code and message of its 400), without using anything."""

    key: str
    at: datetime
    valid: bool
    error_code: str | None
    error_message: str | None


class Reversal(StudioResponseModel):
    reason: str
    reversed_by: str
    reversed_at: datetime


class UsageOut(StudioResponseModel):
    id: int
    customer_id: int
    key: str
    studio_id: int
    channel: UsageChannel
    used_at: datetime
    grant_id: int
    contract_id: int
    period_start: datetime | None
    period_end: datetime | None
    reversal: Reversal | None


class ReversalCreate(StudioRequestModel):
    reason: Annotated[str, Field(min_length=1, max_length=500)]
