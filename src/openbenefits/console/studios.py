"""Studios and partner integrations: activating a partner in a studio, and the integration
detail view of the seeds — the partner's benefits with their grants and contingents, the direct
cancelation and withdrawal switches, the integration's API keys and webhook subscriptions with
their deliveries. Every change goes through the service the admin API calls.
"""

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.responses import HTMLResponse, Response

from openbenefits.benefits import definitions
from openbenefits.benefits import schemas as benefit_schemas
from openbenefits.benefits.models import Benefit, BenefitGrant, ContingentPeriod, Weekday
from openbenefits.console.auth import Catalogue, Studios, require_studio
from openbenefits.console.forms import PageWithForm, PostedForm, refused_with
from openbenefits.console.pages import (
    CHOICES,
    PREFIX,
    FormState,
    PageNumber,
    Pager,
    render,
    see_other,
)
from openbenefits.console.sessions import SignedIn
from openbenefits.contracts import modules
from openbenefits.contracts import service as contracts
from openbenefits.kit.errors import NotFound
from openbenefits.kit.routing import ClockDep, SessionDep, SettingsDep, TransactionalRoute
from openbenefits.kit.schemas import Id
from openbenefits.tenancy import schemas as tenancy_schemas
from openbenefits.tenancy import service as tenancy
from openbenefits.tenancy.models import PartnerIntegration
from openbenefits.tenancy.scopes import StudioScope
from openbenefits.webhooks import schemas as webhook_schemas
from openbenefits.webhooks import service as webhooks
from openbenefits.webhooks.models import WebhookSubscription

router = APIRouter(prefix=PREFIX, route_class=TransactionalRoute, include_in_schema=False)

IntegrationId = Annotated[Id, Path()]
PARTNER_SCOPES = [
    StudioScope.CUSTOMER_READ,
    StudioScope.CUSTOMER_BENEFIT_READ,
    StudioScope.CUSTOMER_BENEFIT_WRITE,
]
# The grant form: a number of uses per period, each a row of ``contingents`` (its period a
# hidden field) left out when empty; and a few rows of ``time_windows``, each left out when
# nothing in it is filled in. No limit: unlimited; no window: at any time.
PERIODS = [(period.value, period.value.lower()) for period in ContingentPeriod]
LIMIT_ROWS = {f"contingents.{row}": f"contingents.{row}.uses" for row in range(len(PERIODS))}
WINDOW_ROWS = 3
WINDOW_PARTS = ("days", "start", "end")
WINDOW_FIELDS = tuple(
    f"time_windows.{row}.{part}" for row in range(WINDOW_ROWS) for part in WINDOW_PARTS
)
WEEKDAYS = [(day.value, day.value[:3].title()) for day in Weekday]


# Studios


@router.get("/studios")
async def studios_page(
    request: Request, operator: Studios, session: SessionDep, page: PageNumber = 1
) -> HTMLResponse:
    return await _studios_page(request, operator, session, page)


async def _studios_page(
    request: Request,
    operator: SignedIn,
    session: AsyncSession,
    page: int = 1,
    refused: FormState | None = None,
) -> HTMLResponse:
    pages = Pager(request, page)
    shown, total = await tenancy.list_studios(
        session, operator.tenant_id, pages.params, operator.studio_scope
    )
    partners, _ = await tenancy.list_partners(session, operator.tenant_id, CHOICES)
    integrations = await tenancy.integrations_in(
        session, operator.tenant_id, [studio.id for studio in shown]
    )
    return render(
        request,
        "studios.html",
        operator,
        refused=refused,
        studios=shown,
        pages=pages.counted(total),
        partners={partner.id: partner for partner in partners},
        integrations=integrations,
    )


def _studios_again(request: Request, operator: SignedIn, session: AsyncSession) -> PageWithForm:
    return lambda refused: _studios_page(request, operator, session, refused=refused)


@router.post("/partners")
async def create_partner(request: Request, operator: Catalogue, session: SessionDep) -> Response:
    form = await PostedForm.read(request)
    async with refused_with(
        session, form, name="partner", page=_studios_again(request, operator, session)
    ):
        data = form.model(tenancy_schemas.PartnerCreate)
        await tenancy.create_partner(session, operator, operator.tenant_id, data)
    return see_other(f"{PREFIX}/studios", "partner")


@router.post("/studios/{studio_id}/integrations")
async def activate_partner(
    request: Request, operator: Studios, session: SessionDep, studio_id: Annotated[Id, Path()]
) -> Response:
    await tenancy.get_studio(session, operator.tenant_id, studio_id)
    require_studio(operator, studio_id, f"Studio {studio_id}")
    form = await PostedForm.read(request)
    async with refused_with(
        session,
        form,
        name=f"activate-{studio_id}",
        page=_studios_again(request, operator, session),
        fields={"INTEGRATION_EXISTS": "partner_id"},
    ):
        data = form.model(tenancy_schemas.IntegrationCreate, studio_id=studio_id)
        integration = await tenancy.create_integration(session, operator, operator.tenant_id, data)
    return see_other(f"{PREFIX}/integrations/{integration.id}", "integration")


# The integration detail view


async def _integration(
    session: AsyncSession, operator: SignedIn, integration_id: int
) -> PartnerIntegration:
    integration = await tenancy.get_integration(session, operator.tenant_id, integration_id)
    require_studio(operator, integration.studio_id, f"Partner integration {integration_id}")
    return integration


async def _integration_view(
    session: AsyncSession, operator: SignedIn, integration: PartnerIntegration
) -> dict[str, Any]:
    tenant_id = operator.tenant_id
    benefits = await definitions.partner_benefits(session, tenant_id, integration.partner_id)
    grants = await definitions.standing_grants(session, [benefit.id for benefit in benefits])
    rates, _ = await contracts.list_rates(session, tenant_id, CHOICES)
    offers = await modules.module_offers(session, tenant_id)
    subscriptions, _ = await webhooks.list_subscriptions(
        session, tenant_id, CHOICES, integration.id
    )
    # What may grant a benefit, as the grant form's select names it: "module:3", "rate:1".
    sources = [(f"module:{offer.module.id}", f"Module {offer.module.name}") for offer in offers]
    sources += [(f"rate:{rate.id}", f"Rate {rate.name}") for rate in rates]
    labels = dict(sources)
    return {
        "integration": integration,
        "studio": await tenancy.get_studio(session, tenant_id, integration.studio_id),
        "partner": await tenancy.get_partner(session, tenant_id, integration.partner_id),
        "benefits": benefits,
        "grants": {
            benefit.id: [grant for grant in grants if grant.benefit_id == benefit.id]
            for benefit in benefits
        },
        "source_of": lambda grant: labels.get(_source(grant), "?"),
        "describe": definitions.describe,
        "sources": sources,
        "periods": PERIODS,
        "window_rows": range(WINDOW_ROWS),
        "weekdays": WEEKDAYS,
        "api_keys": await tenancy.integration_api_keys(session, tenant_id, integration.id),
        "scopes": [(scope.value, scope.value) for scope in StudioScope],
        "partner_scopes": [scope.value for scope in PARTNER_SCOPES],
        "subscriptions": subscriptions,
        "event_types": [(event.value, event.value) for event in webhook_schemas.EventType],
    }


def _source(grant: BenefitGrant) -> str:
    return f"module:{grant.module_id}" if grant.module_id else f"rate:{grant.rate_id}"


@router.get("/integrations/{integration_id}")
async def integration_page(
    request: Request, operator: Studios, session: SessionDep, integration_id: IntegrationId
) -> HTMLResponse:
    integration = await _integration(session, operator, integration_id)
    return await _integration_page(request, operator, session, integration)


async def _integration_page(
    request: Request,
    operator: SignedIn,
    session: AsyncSession,
    integration: PartnerIntegration,
    refused: FormState | None = None,
) -> HTMLResponse:
    context = await _integration_view(session, operator, integration)
    return render(request, "integration.html", operator, refused=refused, **context)


async def _integration_form(
    request: Request, session: AsyncSession, operator: SignedIn, integration_id: int
) -> tuple[PostedForm, PartnerIntegration, PageWithForm]:
    """The posted form, the integration it concerns, and its page to answer a refusal with."""
    integration = await _integration(session, operator, integration_id)
    form = await PostedForm.read(request)

    def page(refused: FormState) -> Awaitable[HTMLResponse]:
        return _integration_page(request, operator, session, integration, refused)

    return form, integration, page


def _back_to(integration: PartnerIntegration, done: str, part: str = "") -> Response:
    return see_other(f"{PREFIX}/integrations/{integration.id}{part}", done)


@router.post("/integrations/{integration_id}/settings")
async def change_settings(
    request: Request, operator: Studios, session: SessionDep, integration_id: IntegrationId
) -> Response:
    form, integration, page = await _integration_form(request, session, operator, integration_id)
    async with refused_with(session, form, name="settings", page=page):
        data = form.model(tenancy_schemas.IntegrationUpdate)
        await tenancy.update_integration(session, operator, integration, data)
    return _back_to(integration, "settings")


async def _partner_benefit(
    session: AsyncSession, integration: PartnerIntegration, benefit_id: int
) -> Benefit:
    """One of the integration's partner's benefits (any other answers 404)."""
    benefit = await definitions.get_benefit(session, integration.tenant_id, benefit_id)
    if benefit.partner_id != integration.partner_id:
        raise NotFound(f"Benefit {benefit_id} not found.", code="BENEFIT_NOT_FOUND")
    return benefit


@router.post("/integrations/{integration_id}/benefits")
async def create_benefit(
    request: Request, operator: Catalogue, session: SessionDep, integration_id: IntegrationId
) -> Response:
    form, integration, page = await _integration_form(request, session, operator, integration_id)
    fields = {"BENEFIT_KEY_TAKEN": "key"}
    async with refused_with(session, form, name="benefit", page=page, fields=fields):
        data = form.model(benefit_schemas.BenefitCreate)
        await definitions.create_benefit(
            session, operator, operator.tenant_id, integration.partner_id, data
        )
    return _back_to(integration, "benefit", "#benefits")


@router.post("/integrations/{integration_id}/benefits/{benefit_id}")
async def update_benefit(
    request: Request,
    operator: Catalogue,
    session: SessionDep,
    integration_id: IntegrationId,
    benefit_id: Annotated[Id, Path()],
) -> Response:
    form, integration, page = await _integration_form(request, session, operator, integration_id)
    benefit = await _partner_benefit(session, integration, benefit_id)
    async with refused_with(session, form, name=f"benefit-{benefit_id}", page=page):
        data = form.model(benefit_schemas.BenefitUpdate)
        await definitions.update_benefit(session, operator, benefit, data)
    return _back_to(integration, "benefit", "#benefits")


@router.post("/integrations/{integration_id}/benefits/{benefit_id}/grants")
async def create_grant(
    request: Request,
    operator: Catalogue,
    session: SessionDep,
    clock: ClockDep,
    integration_id: IntegrationId,
    benefit_id: Annotated[Id, Path()],
) -> Response:
    form, integration, page = await _integration_form(request, session, operator, integration_id)
    benefit = await _partner_benefit(session, integration, benefit_id)
    windows, window_fields = _time_windows(form)
    fields = {
        "GRANT_EXISTS": "source",
        "rate_id": "source",
        "additional_module_id": "source",
        **_limit_fields(form),
        **window_fields,
    }
    async with refused_with(session, form, name=f"grant-{benefit_id}", page=page, fields=fields):
        kind, _, source_id = form.get("source").partition(":")
        data = form.model(
            benefit_schemas.GrantCreate,
            without=("source", *WINDOW_FIELDS),
            unless=LIMIT_ROWS,
            rate_id=source_id if kind == "rate" else None,
            additional_module_id=source_id if kind == "module" else None,
            time_windows=windows,
        )
        await definitions.create_grant(session, operator, benefit, data, clock.now())
    return _back_to(integration, "grant", "#benefits")


def _limit_fields(form: PostedForm) -> dict[str, str]:
    """Where an error about a limit goes: the request lists only the filled-in rows, so its
    ``contingents.1`` may be the form's ``contingents.2`` (no weekly limit)."""
    kept = [row for row, leading in enumerate(LIMIT_ROWS.values()) if form.get(leading)]
    return {
        f"contingents.{item}{member}": f"contingents.{row}.uses"
        for item, row in enumerate(kept)
        for member in ("", ".uses", ".period")
    }


def _time_windows(form: PostedForm) -> tuple[list[dict[str, Any]] | None, dict[str, str]]:
    """The filled-in rows of time windows as the request's ``timeWindows`` (None: at any
    time), and where an error about each goes: a row's own error (end before start) beside
    the row, a member's beside its field."""
    windows: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    for row in range(WINDOW_ROWS):
        prefix = f"time_windows.{row}"
        days = [day for day in form.lists.get(f"{prefix}.days", []) if day]
        start, end = form.get(f"{prefix}.start"), form.get(f"{prefix}.end")
        if not (days or start or end):
            continue
        item = f"time_windows.{len(windows)}"
        # A part left empty is left out: the refusal says it is required.
        parts = {"days": days, "start": start, "end": end}
        windows.append({part: value for part, value in parts.items() if value})
        fields[item] = prefix
        fields.update({f"{item}.{part}": f"{prefix}.{part}" for part in WINDOW_PARTS})
        fields.update({f"{item}.days.{index}": f"{prefix}.days" for index in range(len(days))})
    return windows or None, fields


@router.post("/integrations/{integration_id}/benefits/{benefit_id}/grants/{grant_id}/remove")
async def remove_grant(
    operator: Catalogue,
    session: SessionDep,
    clock: ClockDep,
    integration_id: IntegrationId,
    benefit_id: Annotated[Id, Path()],
    grant_id: Annotated[Id, Path()],
) -> Response:
    integration = await _integration(session, operator, integration_id)
    benefit = await _partner_benefit(session, integration, benefit_id)
    await definitions.remove_grant(session, operator, benefit, grant_id, clock.now())
    return _back_to(integration, "grant-removed", "#benefits")


# API keys


@router.post("/integrations/{integration_id}/api-keys")
async def create_api_key(
    request: Request,
    operator: Studios,
    session: SessionDep,
    settings: SettingsDep,
    integration_id: IntegrationId,
) -> Response:
    form, integration, page = await _integration_form(request, session, operator, integration_id)
    async with refused_with(session, form, name="api-key", page=page):
        data = form.model(
            tenancy_schemas.ApiKeyCreate,
            "scopes",
            studio_id=integration.studio_id,
            partner_integration_id=integration.id,
        )
        api_key, plain = await tenancy.create_api_key(
            session, operator, settings.signing_key, operator.tenant_id, data
        )
    return render(
        request,
        "secret.html",
        operator,
        status=201,
        title=f"API key {api_key.name}",
        secret=plain,
        explanation="The partner sends it as X-API-KEY. It is shown this once: only a keyed "
        "hash of it is kept.",
        back=f"{PREFIX}/integrations/{integration.id}#api-keys",
    )


@router.post("/integrations/{integration_id}/api-keys/{key_id}/revoke")
async def revoke_api_key(
    request: Request,
    operator: Studios,
    session: SessionDep,
    clock: ClockDep,
    integration_id: IntegrationId,
    key_id: Annotated[Id, Path()],
) -> Response:
    integration = await _integration(session, operator, integration_id)
    api_key = await tenancy.get_api_key(session, operator.tenant_id, key_id)
    if api_key.partner_integration_id != integration.id:
        raise NotFound(f"API key {key_id} not found.", code="API_KEY_NOT_FOUND")
    await tenancy.revoke(session, operator, api_key, clock.now())
    # As the admin API does: this process forgets the key at once.
    request.app.state.principals.forget(api_key.id)
    return _back_to(integration, "key-revoked", "#api-keys")


# Webhook subscriptions


@router.post("/integrations/{integration_id}/webhooks")
async def create_subscription(
    request: Request,
    operator: Studios,
    session: SessionDep,
    settings: SettingsDep,
    integration_id: IntegrationId,
) -> Response:
    form, integration, page = await _integration_form(request, session, operator, integration_id)
    async with refused_with(session, form, name="webhook", page=page):
        data = form.model(
            webhook_schemas.SubscriptionCreate, "event_types", partner_integration_id=integration.id
        )
        subscription, secret = await webhooks.create_subscription(
            session,
            operator,
            settings.keyring,
            operator.tenant_id,
            data,
            settings.webhook_allowed_networks,
        )
    return _secret_page(request, operator, subscription, secret)


def _secret_page(
    request: Request, operator: SignedIn, subscription: WebhookSubscription, secret: str
) -> HTMLResponse:
    return render(
        request,
        "secret.html",
        operator,
        status=201,
        title=f"Signing secret of the webhook to {subscription.url}",
        secret=secret,
        explanation="The partner checks each delivery's signature with it (Standard Webhooks). "
        "It is shown this once.",
        back=f"{PREFIX}/webhooks/{subscription.id}",
    )


async def _subscription(
    session: AsyncSession, operator: SignedIn, subscription_id: int
) -> tuple[WebhookSubscription, PartnerIntegration]:
    subscription = await webhooks.get_subscription(session, operator.tenant_id, subscription_id)
    integration = await tenancy.get_integration(
        session, operator.tenant_id, subscription.partner_integration_id
    )
    require_studio(operator, integration.studio_id, f"Webhook subscription {subscription_id}")
    return subscription, integration


@router.get("/webhooks/{subscription_id}")
async def subscription_page(
    request: Request,
    operator: Studios,
    session: SessionDep,
    subscription_id: Annotated[Id, Path()],
    page: PageNumber = 1,
) -> HTMLResponse:
    subscription, integration = await _subscription(session, operator, subscription_id)
    pages = Pager(request, page)
    deliveries, total = await webhooks.list_deliveries(
        session, operator.tenant_id, pages.params, subscription_id=subscription.id
    )
    attempts = await webhooks.attempts_of(session, deliveries)
    return render(
        request,
        "webhook.html",
        operator,
        subscription=subscription,
        integration=integration,
        deliveries=deliveries,
        attempts=attempts,
        pages=pages.counted(total),
    )


@router.post("/webhooks/{subscription_id}/rotate")
async def rotate_secret(
    request: Request,
    operator: Studios,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    subscription_id: Annotated[Id, Path()],
) -> Response:
    subscription, _ = await _subscription(session, operator, subscription_id)
    secret = await webhooks.rotate_secret(
        session, operator, settings.keyring, subscription, clock.now()
    )
    return _secret_page(request, operator, subscription, secret)


@router.post("/webhooks/{subscription_id}/test")
async def send_test(
    operator: Studios, session: SessionDep, clock: ClockDep, subscription_id: Annotated[Id, Path()]
) -> Response:
    subscription, _ = await _subscription(session, operator, subscription_id)
    await webhooks.send_test_event(session, subscription, clock.now())
    return see_other(f"{PREFIX}/webhooks/{subscription.id}", "webhook-test")


@router.post("/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver")
async def redeliver(
    operator: Studios,
    session: SessionDep,
    clock: ClockDep,
    subscription_id: Annotated[Id, Path()],
    delivery_id: Annotated[Id, Path()],
) -> Response:
    subscription, _ = await _subscription(session, operator, subscription_id)
    delivery = await webhooks.get_delivery(session, operator.tenant_id, delivery_id)
    if delivery.subscription_id != subscription.id:
        raise NotFound(
            f"Webhook delivery {delivery_id} not found.", code="WEBHOOK_DELIVERY_NOT_FOUND"
        )
    await webhooks.redeliver(session, operator, delivery, clock.now())
    return see_other(f"{PREFIX}/webhooks/{subscription.id}", "redelivered")
