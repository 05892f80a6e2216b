"""Access codes: QR-code content a door reader can verify offline or through the admin API.

The content is a short-lived token signed with the instance secret (its own audience, so it is
never mistaken for an API token) naming the customer and the tenant.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from openbenefits.kit.errors import Unauthorized
from openbenefits.kit.security import sign_token, verify_token

AUDIENCE = "openbenefits-access-code"


@dataclass(frozen=True)
class AccessCode:
    content: str
    expires_at: datetime


@dataclass(frozen=True)
class Holder:
    customer_id: int
    tenant_id: int
    expires_at: datetime


def issue(
    master: bytes, customer_id: int, tenant_id: int, now: datetime, ttl: timedelta
) -> AccessCode:
    content = sign_token(
        master,
        subject=str(customer_id),
        audience=AUDIENCE,
        now=now,
        ttl=ttl,
        claims={"tenant": tenant_id},
    )
    return AccessCode(content, now.replace(microsecond=0) + ttl)


def read(master: bytes, content: str, now: datetime) -> Holder:
    """The holder of a valid code; Unauthorized for a forged, malformed or expired one."""
    claims = verify_token(master, content, audience=AUDIENCE, now=now)
    try:
        return Holder(
            customer_id=int(claims["sub"]),
            tenant_id=int(claims["tenant"]),
            expires_at=datetime.fromtimestamp(claims["exp"], UTC),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise Unauthorized("The access code is malformed.", code="INVALID_ACCESS_CODE") from error
