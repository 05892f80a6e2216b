"""The tenant's home page: benefit uses today and this month per studio and partner, uses per
day over the last 30 or 90 days, the contingents exhausted now (upsell leads), the amendments
waiting and the webhook deliveries failing."""

from datetime import date, datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse

from openbenefits.benefits import reports
from openbenefits.console.auth import Area, Home, opens
from openbenefits.console.charts import bar_chart
from openbenefits.console.pages import CHOICES, PREFIX, render
from openbenefits.contracts import modules
from openbenefits.kit.pagination import PageParams
from openbenefits.kit.periods import local_date
from openbenefits.kit.routing import ClockDep, SessionDep, TransactionalRoute
from openbenefits.tenancy import service as tenancy
from openbenefits.webhooks import service as webhooks
from openbenefits.webhooks.models import DeliveryState

router = APIRouter(prefix=PREFIX, route_class=TransactionalRoute, include_in_schema=False)

# What the home page lists of the amendments and failing deliveries; the rest is a click away.
FIRST = PageParams(page=1, per_page=5)


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(), zone)


@router.get("")
async def home(
    request: Request,
    operator: Home,
    session: SessionDep,
    clock: ClockDep,
    over: Annotated[Literal["30", "90"], Query(alias="days")] = "30",
) -> HTMLResponse:
    days = int(over)
    tenant = await tenancy.get_tenant(session, operator.tenant_id)
    if not opens(operator, Area.STUDIOS):
        return render(request, "home.html", operator, tenant=tenant, studio_data=False)
    now = clock.now()
    zone = ZoneInfo(tenant.time_zone)
    today = local_date(now, zone)
    studios_seen = operator.studio_scope
    tenant_id = operator.tenant_id
    studios, _ = await tenancy.list_studios(session, tenant_id, CHOICES)
    partners, _ = await tenancy.list_partners(session, tenant_id, CHOICES)
    month = await reports.uses_since(
        session, tenant_id, studios_seen, _midnight(today.replace(day=1), zone)
    )
    todays = {
        (count.studio_id, count.partner_id): count.uses
        for count in await reports.uses_since(
            session, tenant_id, studios_seen, _midnight(today, zone)
        )
    }
    first_day = today - timedelta(days=days - 1)
    per_day = {first_day + timedelta(days=offset): 0 for offset in range(days)}
    for hour, uses in (
        await reports.uses_per_hour(session, tenant_id, studios_seen, _midnight(first_day, zone))
    ).items():
        per_day[local_date(hour, zone)] += uses
    chart = bar_chart(
        [
            (f"{day:%d %b}", uses, f"{day.isoformat()}: {uses} use{'' if uses == 1 else 's'}")
            for day, uses in per_day.items()
        ],
        label_every=7 if days == 30 else 15,
    )
    amendments, waiting = await modules.pending_amendments(session, tenant_id, studios_seen, FIRST)
    failing, failed = (
        await webhooks.list_deliveries(session, tenant_id, FIRST, state=DeliveryState.FAILED)
        if studios_seen is None
        else ([], 0)
    )
    return render(
        request,
        "home.html",
        operator,
        tenant=tenant,
        studio_data=True,
        studio_names={studio.id: studio.name for studio in studios},
        partner_names={partner.id: partner.name for partner in partners},
        uses=[(count, todays.get((count.studio_id, count.partner_id), 0)) for count in month],
        days=days,
        chart=chart,
        uses_in_range=sum(per_day.values()),
        leads=await reports.exhausted_contingents(session, tenant_id, studios_seen, now),
        amendments=amendments,
        waiting=waiting,
        failing=failing,
        failed=failed,
    )
