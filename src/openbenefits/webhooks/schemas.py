from datetime import datetime
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, StringConstraints

from openbenefits.kit.schemas import Id, PatchModel, RequestModel, ResponseModel
from openbenefits.webhooks.models import DeliveryState


class EventType(StrEnum):
    """The events a subscription can ask for (PRODUCT.md §5, named as in the reference). The
    first word names the entity whose id is the payload's ``entityId``."""

    CUSTOMER_CREATED = "CUSTOMER_CREATED"
    CUSTOMER_UPDATED = "CUSTOMER_UPDATED"
    CUSTOMER_DELETED = "CUSTOMER_DELETED"
    CUSTOMER_CHECKIN = "CUSTOMER_CHECKIN"
    CUSTOMER_ACCESS_MEDIUM_CREATED = "CUSTOMER_ACCESS_MEDIUM_CREATED"
    CUSTOMER_ACCESS_MEDIUM_UPDATED = "CUSTOMER_ACCESS_MEDIUM_UPDATED"
    CUSTOMER_ACCESS_MEDIUM_DELETED = "CUSTOMER_ACCESS_MEDIUM_DELETED"
    CUSTOMER_ACCESS_RESTRICTION_CREATED = "CUSTOMER_ACCESS_RESTRICTION_CREATED"
    CUSTOMER_ACCESS_RESTRICTION_UPDATED = "CUSTOMER_ACCESS_RESTRICTION_UPDATED"
    CUSTOMER_ACCESS_RESTRICTION_DELETED = "CUSTOMER_ACCESS_RESTRICTION_DELETED"
    CUSTOMER_HOME_STUDIO_UPDATED = "CUSTOMER_HOME_STUDIO_UPDATED"
    CONTRACT_CREATED = "CONTRACT_CREATED"
    CONTRACT_UPDATED = "CONTRACT_UPDATED"
    CONTRACT_CANCELLED = "CONTRACT_CANCELLED"
    CONTRACT_ADDITIONAL_MODULE_CREATED = "CONTRACT_ADDITIONAL_MODULE_CREATED"
    CONTRACT_ADDITIONAL_MODULE_UPDATED = "CONTRACT_ADDITIONAL_MODULE_UPDATED"
    CONTRACT_ADDITIONAL_MODULE_DELETED = "CONTRACT_ADDITIONAL_MODULE_DELETED"
    CONTRACT_ADDITIONAL_MODULE_CANCELLED = "CONTRACT_ADDITIONAL_MODULE_CANCELLED"
    # entityId: the usage's id (a row of the benefit usage ledger).
    BENEFIT_USED = "BENEFIT_USED"
    BENEFIT_USAGE_REVERSED = "BENEFIT_USAGE_REVERSED"
    # The use that took a limit's last one in its period (content: the limit and its period).
    BENEFIT_CONTINGENT_EXHAUSTED = "BENEFIT_CONTINGENT_EXHAUSTED"
    # entityId: the loyalty contract's id (its uuid is in the content).
    LOYALTY_CONTRACT_CREATED = "LOYALTY_CONTRACT_CREATED"
    LOYALTY_CONSUMER_ADDED = "LOYALTY_CONSUMER_ADDED"
    LOYALTY_CONSUMER_BLOCKED = "LOYALTY_CONSUMER_BLOCKED"
    LOYALTY_CONSUMER_UNBLOCKED = "LOYALTY_CONSUMER_UNBLOCKED"
    LOYALTY_CONSUMER_REMOVED = "LOYALTY_CONSUMER_REMOVED"
    LOYALTY_COUPON_USED = "LOYALTY_COUPON_USED"
    LOYALTY_POINTS_TRANSACTION_RECORDED = "LOYALTY_POINTS_TRANSACTION_RECORDED"
    TEST = "TEST"


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http or https URL")
    return value


Url = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_http_url)
]
EventTypes = Annotated[list[EventType], Field(min_length=1)]
PartnerKey = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[!-~]+$")]


class SubscriptionCreate(RequestModel):
    partner_integration_id: Id

    url: Url
    event_types: EventTypes
    api_key: PartnerKey | None = Field(default=None, description="Sent as `x-api-key`.")
    active: bool = True


class SubscriptionUpdate(PatchModel):
    url: Url | None = None
    event_types: EventTypes | None = None
    api_key: PartnerKey | None = None
    active: bool | None = None


class SubscriptionOut(ResponseModel):
    id: int
    tenant_id: int
    partner_integration_id: int
    url: str
    event_types: list[EventType]
    active: bool
    disabled_at: datetime | None
    previous_secret_expires_at: datetime | None
    created_at: datetime


class SubscriptionWithSecret(SubscriptionOut):
    secret: str = Field(description="The signing secret. Shown only in this response.")


class AttemptOut(ResponseModel):
    id: int
    attempted_at: datetime
    status_code: int | None
    duration_ms: int
    response_body: str | None
    error: str | None


class DeliveryOut(ResponseModel):
    id: int
    subscription_id: int
    event_id: int
    event_type: str
    entity_id: int
    state: DeliveryState
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]
