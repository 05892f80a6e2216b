"""Admin API for tenancy: tenants, studios, partners, integrations, API keys, OAuth clients and
the audit log. Every path below a tenant is checked against the operator's token."""

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response, status

from openbenefits.kit.pagination import Page, PageParams, page_of, page_params
from openbenefits.kit.routing import ClockDep, SessionDep, SettingsDep, TransactionalRoute
from openbenefits.kit.schemas import Id, problem_responses
from openbenefits.tenancy import schemas, service
from openbenefits.tenancy.auth import (
    Admin,
    AdminTenant,
    GlobalAdmin,
    PrincipalCacheDep,
    RevocationsDep,
)

router = APIRouter(
    prefix="/admin/v1",
    tags=["admin: tenancy"],
    route_class=TransactionalRoute,
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
)
Paging = Annotated[PageParams, Depends(page_params)]
TENANT = "/tenants/{tenantId}"
CREATED = status.HTTP_201_CREATED


@router.post("/tenants", status_code=CREATED, response_model=schemas.TenantOut)
async def create_tenant(
    admin: GlobalAdmin, session: SessionDep, body: schemas.TenantCreate
) -> object:
    return await service.create_tenant(session, admin, body)


@router.get("/tenants", response_model=Page[schemas.TenantOut])
async def list_tenants(admin: Admin, session: SessionDep, paging: Paging) -> object:
    rows, total = await service.list_tenants(session, admin.tenant_id, paging)
    return page_of(schemas.TenantOut, rows, total, paging)


@router.get(TENANT, response_model=schemas.TenantOut)
async def get_tenant(tenant: AdminTenant) -> object:
    return tenant


@router.patch(TENANT, response_model=schemas.TenantOut)
async def update_tenant(
    admin: Admin, tenant: AdminTenant, session: SessionDep, body: schemas.TenantUpdate
) -> object:
    return await service.update_tenant(session, admin, tenant, body)


# Studios


@router.post(f"{TENANT}/studios", status_code=CREATED, response_model=schemas.StudioOut)
async def create_studio(
    admin: Admin, tenant: AdminTenant, session: SessionDep, body: schemas.StudioCreate
) -> object:
    return await service.create_studio(session, admin, tenant.id, body)


@router.get(f"{TENANT}/studios", response_model=Page[schemas.StudioOut])
async def list_studios(tenant: AdminTenant, session: SessionDep, paging: Paging) -> object:
    rows, total = await service.list_studios(session, tenant.id, paging)
    return page_of(schemas.StudioOut, rows, total, paging)


@router.get(f"{TENANT}/studios/{{studioId}}", response_model=schemas.StudioOut)
async def get_studio(
    tenant: AdminTenant, session: SessionDep, studio_id: Annotated[Id, Path(alias="studioId")]
) -> object:
    return await service.get_studio(session, tenant.id, studio_id)


@router.patch(f"{TENANT}/studios/{{studioId}}", response_model=schemas.StudioOut)
async def update_studio(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    studio_id: Annotated[Id, Path(alias="studioId")],
    body: schemas.StudioUpdate,
) -> object:
    studio = await service.get_studio(session, tenant.id, studio_id)
    return await service.update_studio(session, admin, studio, body)


# Partners and integrations


@router.post(f"{TENANT}/partners", status_code=CREATED, response_model=schemas.PartnerOut)
async def create_partner(
    admin: Admin, tenant: AdminTenant, session: SessionDep, body: schemas.PartnerCreate
) -> object:
    return await service.create_partner(session, admin, tenant.id, body)


@router.get(f"{TENANT}/partners", response_model=Page[schemas.PartnerOut])
async def list_partners(tenant: AdminTenant, session: SessionDep, paging: Paging) -> object:
    rows, total = await service.list_partners(session, tenant.id, paging)
    return page_of(schemas.PartnerOut, rows, total, paging)


@router.get(f"{TENANT}/partners/{{partnerId}}", response_model=schemas.PartnerOut)
async def get_partner(
    tenant: AdminTenant, session: SessionDep, partner_id: Annotated[Id, Path(alias="partnerId")]
) -> object:
    return await service.get_partner(session, tenant.id, partner_id)


@router.post(
    f"{TENANT}/partner-integrations", status_code=CREATED, response_model=schemas.IntegrationOut
)
async def create_integration(
    admin: Admin, tenant: AdminTenant, session: SessionDep, body: schemas.IntegrationCreate
) -> object:
    return await service.create_integration(session, admin, tenant.id, body)


@router.get(f"{TENANT}/partner-integrations", response_model=Page[schemas.IntegrationOut])
async def list_integrations(
    tenant: AdminTenant,
    session: SessionDep,
    paging: Paging,
    studio_id: Annotated[Id | None, Query(alias="studioId")] = None,
    partner_id: Annotated[Id | None, Query(alias="partnerId")] = None,
) -> object:
    rows, total = await service.list_integrations(
        session, tenant.id, paging, studio_id=studio_id, partner_id=partner_id
    )
    return page_of(schemas.IntegrationOut, rows, total, paging)


IntegrationId = Annotated[Id, Path(alias="integrationId")]


@router.get(
    f"{TENANT}/partner-integrations/{{integrationId}}", response_model=schemas.IntegrationOut
)
async def get_integration(
    tenant: AdminTenant, session: SessionDep, integration_id: IntegrationId
) -> object:
    return await service.get_integration(session, tenant.id, integration_id)


@router.patch(
    f"{TENANT}/partner-integrations/{{integrationId}}", response_model=schemas.IntegrationOut
)
async def update_integration(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    integration_id: IntegrationId,
    body: schemas.IntegrationUpdate,
) -> object:
    integration = await service.get_integration(session, tenant.id, integration_id)
    return await service.update_integration(session, admin, integration, body)


# Credentials

KeyId = Annotated[Id, Path(alias="apiKeyId")]
ClientRowId = Annotated[Id, Path(alias="oauthClientId")]


@router.post(f"{TENANT}/api-keys", status_code=CREATED, response_model=schemas.ApiKeyCreated)
async def create_api_key(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    settings: SettingsDep,
    body: schemas.ApiKeyCreate,
) -> object:
    api_key, plain = await service.create_api_key(
        session, admin, settings.signing_key, tenant.id, body
    )
    return schemas.ApiKeyCreated.model_validate(
        {**schemas.ApiKeyOut.model_validate(api_key).model_dump(), "key": plain}
    )


@router.get(f"{TENANT}/api-keys", response_model=Page[schemas.ApiKeyOut])
async def list_api_keys(tenant: AdminTenant, session: SessionDep, paging: Paging) -> object:
    rows, total = await service.list_api_keys(session, tenant.id, paging)
    return page_of(schemas.ApiKeyOut, rows, total, paging)


@router.get(f"{TENANT}/api-keys/{{apiKeyId}}", response_model=schemas.ApiKeyOut)
async def get_api_key(tenant: AdminTenant, session: SessionDep, key_id: KeyId) -> object:
    return await service.get_api_key(session, tenant.id, key_id)


@router.delete(f"{TENANT}/api-keys/{{apiKeyId}}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_api_key(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    cache: PrincipalCacheDep,
    key_id: KeyId,
) -> Response:
    """Revoked at once in this process, within ``api_key_cache_seconds`` in the others."""
    api_key = await service.get_api_key(session, tenant.id, key_id)
    await service.revoke(session, admin, api_key, clock.now())
    cache.forget(api_key.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    f"{TENANT}/oauth-clients", status_code=CREATED, response_model=schemas.OAuthClientCreated
)
async def create_oauth_client(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    settings: SettingsDep,
    body: schemas.OAuthClientCreate,
) -> object:
    client, secret = await service.create_oauth_client(
        session, admin, settings.signing_key, tenant.id, body
    )
    return schemas.OAuthClientCreated.model_validate(
        {**schemas.OAuthClientOut.model_validate(client).model_dump(), "client_secret": secret}
    )


@router.get(f"{TENANT}/oauth-clients", response_model=Page[schemas.OAuthClientOut])
async def list_oauth_clients(tenant: AdminTenant, session: SessionDep, paging: Paging) -> object:
    rows, total = await service.list_oauth_clients(session, tenant.id, paging)
    return page_of(schemas.OAuthClientOut, rows, total, paging)


@router.delete(f"{TENANT}/oauth-clients/{{oauthClientId}}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_oauth_client(
    admin: Admin,
    tenant: AdminTenant,
    session: SessionDep,
    clock: ClockDep,
    revocations: RevocationsDep,
    row_id: ClientRowId,
) -> Response:
    """Its tokens stop working at once in this process, within ``api_key_cache_seconds`` in the
    others."""
    client = await service.get_oauth_client(session, tenant.id, row_id)
    await service.revoke(session, admin, client, clock.now())
    revocations.clients.discard(client.client_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/admin-tokens/{tokenId}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_admin_token(
    admin: GlobalAdmin,
    session: SessionDep,
    clock: ClockDep,
    revocations: RevocationsDep,
    token_id: Annotated[str, Path(alias="tokenId", min_length=1, max_length=64)],
) -> Response:
    """Withdraw an admin token by its id (printed by `openbenefits admin-token`): refused at
    once in this process, within ``api_key_cache_seconds`` in the others."""
    await service.revoke_admin_token(session, admin, token_id, clock.now())
    revocations.admin_tokens.discard(token_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(f"{TENANT}/audit-log", response_model=Page[schemas.AuditEntryOut])
async def list_audit_entries(tenant: AdminTenant, session: SessionDep, paging: Paging) -> object:
    rows, total = await service.list_audit_entries(session, tenant.id, paging)
    return page_of(schemas.AuditEntryOut, rows, total, paging)
