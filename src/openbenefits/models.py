"""Every table, imported in one place so that Alembic and the test fixtures see the whole schema."""

from openbenefits.benefits.models import (
    Benefit,
    BenefitCounter,
    BenefitGrant,
    BenefitUsage,
    BenefitUsageReversal,
)
from openbenefits.console.models import ConsoleSession, Operator, OperatorStudio
from openbenefits.contracts.models import (
    AdditionalModule,
    CancelationReason,
    MainContract,
    ModuleContract,
    ModulePaymentFrequency,
    ModuleRate,
    Rate,
    RatePaymentFrequency,
)
from openbenefits.customers.models import (
    AccessMedium,
    AccessRestriction,
    AdditionalInformationField,
    AdditionalInformationFieldAssignment,
    AdditionalInformationListItem,
    CheckIn,
    Customer,
    CustomerDocument,
    IdlePeriod,
    StudioSwitch,
    Weighing,
)
from openbenefits.kit.audit import AuditEntry
from openbenefits.kit.db import Base
from openbenefits.kit.idempotency import IdempotencyRecord
from openbenefits.kit.outbox import OutboxEvent
from openbenefits.loyalty.models import (
    LoyaltyAgeBands,
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyContractPolicy,
    LoyaltyOrderLineEvent,
    LoyaltyPointsTransaction,
    LoyaltyProgram,
    LoyaltyProgramVersion,
)
from openbenefits.tenancy.models import (
    ApiKey,
    OAuthClient,
    Partner,
    PartnerIntegration,
    Studio,
    Tenant,
)
from openbenefits.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookSubscription

__all__ = [
    "AccessMedium",
    "AccessRestriction",
    "AdditionalInformationField",
    "AdditionalInformationFieldAssignment",
    "AdditionalInformationListItem",
    "AdditionalModule",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Benefit",
    "BenefitCounter",
    "BenefitGrant",
    "BenefitUsage",
    "BenefitUsageReversal",
    "CancelationReason",
    "CheckIn",
    "ConsoleSession",
    "Customer",
    "CustomerDocument",
    "IdempotencyRecord",
    "IdlePeriod",
    "LoyaltyAgeBands",
    "LoyaltyContract",
    "LoyaltyContractConsumer",
    "LoyaltyContractPolicy",
    "LoyaltyOrderLineEvent",
    "LoyaltyPointsTransaction",
    "LoyaltyProgram",
    "LoyaltyProgramVersion",
    "MainContract",
    "ModuleContract",
    "ModulePaymentFrequency",
    "ModuleRate",
    "OAuthClient",
    "Operator",
    "OperatorStudio",
    "OutboxEvent",
    "Partner",
    "PartnerIntegration",
    "Rate",
    "RatePaymentFrequency",
    "Studio",
    "StudioSwitch",
    "Tenant",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookSubscription",
    "Weighing",
]
