"""Admin API for webhooks: subscriptions per partner integration, their deliveries with every
attempt, redelivery and test events."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from openbenefits.kit.pagination import Page, PageParams, page_of, page_params
from openbenefits.kit.routing import ClockDep, SessionDep, SettingsDep, TransactionalRoute
from openbenefits.kit.schemas import Id, problem_responses
from openbenefits.tenancy.auth import Admin, AdminTenant
from openbenefits.webhooks import schemas, service
from openbenefits.webhooks.models import DeliveryState, WebhookSubscription

router = APIRouter(
    prefix="/admin/v1/tenants/{tenantId}",
    tags=["admin: webhooks"],
    route_class=TransactionalRoute,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
Paging = Annotated[PageParams, Depends(page_params)]
SubscriptionId = Annotated[Id, Path(alias="subscriptionId")]
DeliveryId = Annotated[Id, Path(alias="deliveryId")]
SUBSCRIPTIONS = "/webhook-subscriptions"
SUBSCRIPTION = f"{SUBSCRIPTIONS}/{{subscriptionId}}"
DELIVERY = "/webhook-deliveries/{deliveryId}"


def _with_secret(subscription: WebhookSubscription, secret: str) -> schemas.SubscriptionWithSecret:
    out = schemas.SubscriptionOut.model_validate(subscription).model_dump()
    return schemas.SubscriptionWithSecret.model_validate({**out, "secret": secret})


@router.post(
    SUBSCRIPTIONS,
    status_code=status.HTTP_201_CREATED,
    response_model=schemas.SubscriptionWithSecret,
)
async def create_subscription(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    settings: SettingsDep,
    body: schemas.SubscriptionCreate,
) -> object:
    subscription, secret = await service.create_subscription(
        session, admin, settings.keyring, tenant.id, body, settings.webhook_allowed_networks
    )
    return _with_secret(subscription, secret)


@router.get(SUBSCRIPTIONS, response_model=Page[schemas.SubscriptionOut])
async def list_subscriptions(
    tenant: AdminTenant,
    session: SessionDep,
    paging: Paging,
    integration_id: Annotated[Id | None, Query(alias="partnerIntegrationId")] = None,
) -> object:
    rows, total = await service.list_subscriptions(session, tenant.id, paging, integration_id)
    return page_of(schemas.SubscriptionOut, rows, total, paging)


@router.get(SUBSCRIPTION, response_model=schemas.SubscriptionOut)
async def get_subscription(
    tenant: AdminTenant, session: SessionDep, subscription_id: SubscriptionId
) -> object:
    return await service.get_subscription(session, tenant.id, subscription_id)


@router.patch(SUBSCRIPTION, response_model=schemas.SubscriptionOut)
async def update_subscription(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    settings: SettingsDep,
    subscription_id: SubscriptionId,
    body: schemas.SubscriptionUpdate,
) -> object:
    subscription = await service.get_subscription(session, tenant.id, subscription_id)
    return await service.update_subscription(
        session, admin, settings.keyring, subscription, body, settings.webhook_allowed_networks
    )


@router.post(f"{SUBSCRIPTION}/rotate-secret", response_model=schemas.SubscriptionWithSecret)
async def rotate_secret(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    subscription_id: SubscriptionId,
) -> object:
    """A new signing secret; the previous one keeps signing deliveries for 24 hours."""
    subscription = await service.get_subscription(session, tenant.id, subscription_id)
    secret = await service.rotate_secret(
        session, admin, settings.keyring, subscription, clock.now()
    )
    return _with_secret(subscription, secret)


@router.delete(SUBSCRIPTION, status_code=status.HTTP_204_NO_CONTENT)
async def delete_subscription(
    admin: Admin, tenant: AdminTenant, session: SessionDep, subscription_id: SubscriptionId
) -> Response:
    subscription = await service.get_subscription(session, tenant.id, subscription_id)
    await service.delete_subscription(session, admin, subscription)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    f"{SUBSCRIPTION}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.DeliveryOut,
)
async def send_test_event(
    tenant: AdminTenant, session: SessionDep, clock: ClockDep, subscription_id: SubscriptionId
) -> object:
    """Queue a TEST event for this subscription; the worker delivers it like any other."""
    subscription = await service.get_subscription(session, tenant.id, subscription_id)
    return await service.send_test_event(session, subscription, clock.now())


@router.get("/webhook-deliveries", response_model=Page[schemas.DeliveryOut])
async def list_deliveries(
    tenant: AdminTenant,
    session: SessionDep,
    paging: Paging,
    subscription_id: Annotated[Id | None, Query(alias="subscriptionId")] = None,
    state: DeliveryState | None = None,
    event_type: Annotated[schemas.EventType | None, Query(alias="eventType")] = None,
    entity_id: Annotated[Id | None, Query(alias="entityId")] = None,
) -> object:
    """Newest first."""
    rows, total = await service.list_deliveries(
        session,
        tenant.id,
        paging,
        subscription_id=subscription_id,
        state=state,
        event_type=event_type,
        entity_id=entity_id,
    )
    return page_of(schemas.DeliveryOut, rows, total, paging)


@router.get(DELIVERY, response_model=schemas.DeliveryDetail)
async def get_delivery(tenant: AdminTenant, session: SessionDep, delivery_id: DeliveryId) -> object:
    delivery = await service.get_delivery(session, tenant.id, delivery_id)
    attempts = await service.delivery_attempts(session, delivery)
    out = schemas.DeliveryOut.model_validate(delivery).model_dump()
    return schemas.DeliveryDetail.model_validate({**out, "attempt_log": attempts})


@router.post(
    f"{DELIVERY}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=schemas.DeliveryOut,
)
async def redeliver(
    admin: Admin, tenant: AdminTenant, session: SessionDep, clock: ClockDep, delivery_id: DeliveryId
) -> object:
    delivery = await service.get_delivery(session, tenant.id, delivery_id)
    return await service.redeliver(session, admin, delivery, clock.now())
