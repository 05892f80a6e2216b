"""What the console's own forms send (the other forms send the admin API's request models)."""

from typing import Annotated

from pydantic import Field

from openbenefits.console.models import OperatorRole
from openbenefits.kit.schemas import Id, RequestModel


class OperatorCreate(RequestModel):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    role: OperatorRole
    # Checked by the service (console/operators.py), which names the rule it breaks.
    password: Annotated[str, Field(max_length=1000)]
    studio_ids: Annotated[list[Id], Field(max_length=500)] = []
