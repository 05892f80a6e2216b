"""Every table, imported in one place so that Alembic and the test fixtures see the whole schema."""

from openbenefits.customers.models import (
    AccessMedium,
    AccessRestriction,
    Customer,
    CustomerDocument,
    IdlePeriod,
)
from openbenefits.kit.audit import AuditEntry
from openbenefits.kit.db import Base
from openbenefits.kit.idempotency import IdempotencyRecord
from openbenefits.tenancy.models import (
    ApiKey,
    OAuthClient,
    Partner,
    PartnerIntegration,
    Studio,
    Tenant,
)

__all__ = [
    "AccessMedium",
    "AccessRestriction",
    "ApiKey",
    "AuditEntry",
    "Base",
    "Customer",
    "CustomerDocument",
    "IdempotencyRecord",
    "IdlePeriod",
    "OAuthClient",
    "Partner",
    "PartnerIntegration",
    "Studio",
    "Tenant",
]
