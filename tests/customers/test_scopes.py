"""Every customer operation demands the scopes the reference names for it: a key with any other
scope gets 403 before anything is looked up."""

import pytest

from openbenefits.tenancy.scopes import StudioScope as S

# operationId: (method, path, body, scopes of which one suffices) — from the reference.
OPERATIONS = {
    "getCustomers": ("GET", "/v1/customers", None, {S.CUSTOMER_READ}),
    "getCustomerById": ("GET", "/v1/customers/{id}", None, {S.CUSTOMER_READ}),
    "getCustomerBy": ("GET", "/v1/customers/by?customerNumber=1", None, {S.CUSTOMER_READ}),
    "searchCustomers": ("POST", "/v1/customers/search", {"lastName": "x"}, {S.CUSTOMER_READ}),
    "getCustomersCheckinHistory": (
        "GET",
        "/v1/customers/{id}/activities/checkins",
        None,
        {S.CHECKIN_READ},
    ),
    "getCustomersContracts": (
        "GET",
        "/v1/customers/{id}/contracts",
        None,
        {S.CUSTOMER_CONTRACT_READ, S.CUSTOMER_READ},
    ),
    "getCustomerContractsBy": (
        "GET",
        "/v1/customers/contracts/by?customerNumber=1",
        None,
        {S.CUSTOMER_CONTRACT_READ, S.CUSTOMER_READ},
    ),
    "getCustomerMeasurement": (
        "GET",
        "/v1/customers/measurement/latest?barcode=1",
        None,
        {S.CUSTOMER_MEASUREMENT_READ, S.CUSTOMER_READ},
    ),
    "createCustomerWeighing": (
        "POST",
        "/v1/customers/{id}/weighing",
        {"rawResults": "x"},
        {S.CUSTOMER_WRITE, S.CUSTOMER_WEIGHING_WRITE},
    ),
    "getCustomerAccessCode": ("GET", "/v1/customers/{id}/access-code", None, {S.CUSTOMER_READ}),
    "addAccessMediums": (
        "POST",
        "/v1/customers/{id}/access-mediums",
        {"type": "PIN", "value": "1234"},
        {S.CUSTOMER_ACCESS_MEDIUM_WRITE},
    ),
    "addAccessMedium": (
        "PUT",
        "/v1/customers/{id}/access-medium",
        {"type": "PIN", "value": "1234"},
        {S.CUSTOMER_ACCESS_MEDIUM_WRITE},
    ),
    "updateAccessMediums": (
        "PUT",
        "/v1/customers/{id}/access-mediums/1",
        {"value": "1"},
        {S.CUSTOMER_ACCESS_MEDIUM_WRITE},
    ),
    "deleteAccessMediums": (
        "DELETE",
        "/v1/customers/{id}/access-mediums/1",
        None,
        {S.CUSTOMER_ACCESS_MEDIUM_WRITE},
    ),
    "getDocuments": ("GET", "/v1/customers/{id}/documents", None, {S.CUSTOMER_DOCUMENT_READ}),
    "getDocumentById": (
        "GET",
        "/v1/customers/{id}/documents/1",
        None,
        {S.CUSTOMER_DOCUMENT_READ},
    ),
    "uploadDocument": ("POST", "/v1/customers/{id}/documents", None, {S.CUSTOMER_DOCUMENT_WRITE}),
    "updateImage": ("PUT", "/v1/customers/{id}/images", None, {S.CUSTOMER_WRITE}),
    "setAccessRestriction": (
        "PUT",
        "/v1/customers/{id}/access-restrictions",
        {"reason": "x"},
        {S.CUSTOMER_ACCESS_RESTRICTION_WRITE},
    ),
    "deleteAccessRestriction": (
        "DELETE",
        "/v1/customers/{id}/access-restrictions",
        None,
        {S.CUSTOMER_ACCESS_RESTRICTION_WRITE},
    ),
    "createCustomer": ("POST", "/v1/customers/create", {}, {S.CUSTOMER_WRITE}),
    "getAdditionalInformationFields": (
        "GET",
        "/v1/customers/additional-information-fields",
        None,
        {S.ADDITIONAL_INFORMATION_READ},
    ),
    "setAdditionalInformationFieldAssignments": (
        "PUT",
        "/v1/customers/{id}/additional-information-field-assignments",
        [],
        {S.ADDITIONAL_INFORMATION_WRITE},
    ),
    "switchStudio": (
        "POST",
        "/v1/customers/{id}/switch-studio",
        {"targetStudioId": 1, "switchDate": "2026-01-01"},
        {S.CUSTOMER_WRITE},
    ),
}


def test_the_table_covers_every_customer_operation():
    assert len(OPERATIONS) == 24


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_a_key_without_the_scope_is_forbidden(chain, operation):
    method, path, body, scopes = OPERATIONS[operation]
    customer = await chain.customer()
    others = sorted(set(S) - scopes)
    key = await chain.key(chain.studio_a, [scope.value for scope in others])
    response = await chain.client.request(
        method, path.format(id=customer["id"]), json=body, headers=key
    )
    assert response.status_code == 403, response.text
    assert response.json()["errorCode"] == "MISSING_SCOPE"


@pytest.mark.parametrize("operation", [op for op, spec in OPERATIONS.items() if len(spec[3]) > 1])
async def test_either_scope_suffices_where_the_reference_says_any_of(chain, operation):
    method, path, body, scopes = OPERATIONS[operation]
    customer = await chain.customer()
    for scope in scopes:
        key = await chain.key(chain.studio_a, [scope.value])
        response = await chain.client.request(
            method, path.format(id=customer["id"]), json=body, headers=key
        )
        assert response.status_code != 403, (scope, response.text)
