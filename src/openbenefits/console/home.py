"""The tenant's home page."""

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse

from openbenefits.console.auth import Home
from openbenefits.console.pages import PREFIX, render
from openbenefits.kit.routing import SessionDep, TransactionalRoute
from openbenefits.tenancy import service as tenancy

router = APIRouter(prefix=PREFIX, route_class=TransactionalRoute, include_in_schema=False)


@router.get("")
async def home(request: Request, operator: Home, session: SessionDep) -> HTMLResponse:
    tenant = await tenancy.get_tenant(session, operator.tenant_id)
    return render(request, "home.html", operator, tenant=tenant)
