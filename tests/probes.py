"""Probe routes mounted only in tests: they exercise the real auth dependencies, route class and
error rendering on the studio and loyalty surfaces with the smallest possible endpoints."""

from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI
from pydantic import Field

from openbenefits.kit.routing import SessionDep, TransactionalRoute
from openbenefits.kit.schemas import RequestModel
from openbenefits.tenancy import service
from openbenefits.tenancy.auth import loyalty_principal, studio_principal
from openbenefits.tenancy.principals import LoyaltyPrincipal, StudioPrincipal
from openbenefits.tenancy.scopes import LoyaltyScope, StudioScope

router = APIRouter(route_class=TransactionalRoute)


class Weighing(RequestModel):
    weight: Annotated[float, Field(gt=0)]
    note: str | None = None


@router.get("/v1/probe/studios/{studio_id}")
async def studio_of_key(
    studio_id: int,
    session: SessionDep,
    principal: Annotated[StudioPrincipal, Depends(studio_principal(StudioScope.CUSTOMER_READ))],
) -> dict[str, object]:
    studio = await service.get_studio(session, principal.tenant_id, studio_id)
    return {"studioId": studio.id, "keyStudioId": principal.studio_id}


@router.post("/v1/probe/weighings")
async def studio_write(
    body: Weighing,
    principal: Annotated[StudioPrincipal, Depends(studio_principal(StudioScope.CUSTOMER_WRITE))],
) -> dict[str, object]:
    return {"weight": body.weight}


@router.post("/v1/probe/crash")
async def crash() -> None:
    raise RuntimeError("secret internals")


@router.get("/customers/v2/benefits/probe")
async def loyalty_read(
    principal: Annotated[LoyaltyPrincipal, Depends(loyalty_principal(LoyaltyScope.LOYALTY_READ))],
) -> dict[str, object]:
    return {"organisationId": principal.tenant_id, "clientId": principal.client_id}


def mount(app: FastAPI) -> None:
    app.include_router(router)
