"""A loyalty contract's consumers (seed 003, "Contracts and their customers"): connecting a
customer of the caller's organisation to a contract (its policies must match), blocking and
removing one. Who may see which contract is loyalty/contracts.py's rule."""

import hmac
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.customers.models import Customer
from openbenefits.kit import audit
from openbenefits.kit.db import flush_or_conflict
from openbenefits.kit.errors import Conflict, InvalidRequest, NotFound, Unauthorized
from openbenefits.loyalty import schemas
from openbenefits.loyalty.contracts import (
    emit_contract_event,
    find_contract,
    find_customer,
    foreign_customer,
    new_consumer,
    owned_contract,
    policy_hash,
    stamp_change,
)
from openbenefits.loyalty.models import (
    LoyaltyContract,
    LoyaltyContractConsumer,
    LoyaltyContractPolicy,
)
from openbenefits.tenancy.principals import LoyaltyCaller
from openbenefits.webhooks.schemas import EventType

POLICY_MISMATCH = (
    "Add contract consumer for contract {uuid} failed. "
    "The contract policies didn't match the policies provided in the request."
)


async def _policies_match(
    session: AsyncSession, master: bytes, contract_id: int, given: dict[str, str]
) -> bool:
    policies = await session.scalars(
        select(LoyaltyContractPolicy).where(LoyaltyContractPolicy.contract_id == contract_id)
    )
    return all(
        p.key in given
        and hmac.compare_digest(p.value_hash, policy_hash(master, p.key, given[p.key]))
        for p in policies
    )


async def add_consumer(
    session: AsyncSession,
    principal: LoyaltyCaller,
    master: bytes,
    uuid: str,
    data: schemas.ConsumerCreate,
    now: datetime,
) -> tuple[LoyaltyContractConsumer, Customer]:
    """The seed's rules, checked in this order: the caller's own customer (403), a contract
    open to the caller (404), the holder rules (400 / 409), the customer (404), the policies
    (401), a consumer already there (409). The contract row is locked, so concurrent additions
    cannot both become the holder or slip in before one."""
    if data.customer_organisation_id != principal.tenant_id:
        raise foreign_customer()
    contract = (await find_contract(session, principal, uuid, now, lock=True)).contract
    if contract.parent_id is not None:
        raise InvalidRequest(
            "A used coupon's contract takes the consumers of its parent.",
            code="CONTRACT_IS_A_COUPON",
        )
    holder = await session.scalar(
        select(LoyaltyContractConsumer.id).where(
            LoyaltyContractConsumer.contract_id == contract.id,
            LoyaltyContractConsumer.is_contract_holder,
        )
    )
    if data.is_contract_holder:
        if contract.tenant_id != principal.tenant_id:
            raise InvalidRequest(
                "The contract holder must be a customer of the organisation owning the contract.",
                code="HOLDER_OF_OTHER_ORGANISATION",
            )
        if holder is not None:
            raise Conflict("The contract already has a holder.", code="CONTRACT_HOLDER_EXISTS")
    elif holder is None:
        raise Conflict(
            "The contract has no holder yet: connect the holder first.",
            code="CONTRACT_HOLDER_MISSING",
        )
    customer = await find_customer(session, principal.tenant_id, data.customer_number)
    if not await _policies_match(session, master, contract.id, data.policy_validation_properties):
        raise Unauthorized(POLICY_MISMATCH.format(uuid=uuid), code="POLICY_MISMATCH")
    consumer = new_consumer(
        contract,
        customer,
        data.customer_ref,
        is_holder=data.is_contract_holder,
        by=principal,
        now=now,
    )
    session.add(consumer)
    await flush_or_conflict(
        session,
        "The customer is already a consumer of this contract.",
        code="CONSUMER_EXISTS",
    )
    audit.record_change(
        session, principal, "loyalty_contract.consumer_added", contract, customerId=customer.id
    )
    await emit_contract_event(
        session,
        EventType.LOYALTY_CONSUMER_ADDED,
        contract,
        now,
        customerOrganisationId=principal.tenant_id,
        customerNumber=data.customer_number,
        isContractHolder=data.is_contract_holder,
    )
    return consumer, customer


async def _consumer_of(
    session: AsyncSession, contract: LoyaltyContract, organisation_id: int, number: int
) -> tuple[LoyaltyContractConsumer, Customer]:
    row = (
        await session.execute(
            select(LoyaltyContractConsumer, Customer)
            .join(Customer, Customer.id == LoyaltyContractConsumer.customer_id)
            .where(
                LoyaltyContractConsumer.contract_id == contract.id,
                Customer.tenant_id == organisation_id,
                Customer.customer_number == str(number),
            )
        )
    ).first()
    if row is None:
        raise NotFound(
            f"Customer {number} is not a consumer of contract {contract.uuid}.",
            code="CONSUMER_NOT_FOUND",
        )
    return row[0], row[1]


async def set_blocked(
    session: AsyncSession,
    principal: LoyaltyCaller,
    uuid: str,
    organisation_id: int,
    number: int,
    blocked: bool,
    now: datetime,
) -> tuple[LoyaltyContractConsumer, Customer]:
    """Only the owning organisation blocks; a blocked consumer keeps its row, so the customer
    can neither see nor connect to the contract again until unblocked."""
    found = await owned_contract(session, principal, uuid, now)
    consumer, customer = await _consumer_of(session, found.contract, organisation_id, number)
    if consumer.is_blocked != blocked:
        consumer.is_blocked = blocked
        stamp_change(consumer, principal, now)
        await session.flush()
        audit.record_change(
            session,
            principal,
            "loyalty_contract.consumer_blocked"
            if blocked
            else "loyalty_contract.consumer_unblocked",
            found.contract,
            customerId=customer.id,
        )
        await emit_contract_event(
            session,
            EventType.LOYALTY_CONSUMER_BLOCKED if blocked else EventType.LOYALTY_CONSUMER_UNBLOCKED,
            found.contract,
            now,
            customerOrganisationId=organisation_id,
            customerNumber=number,
        )
    return consumer, customer


async def remove_consumer(
    session: AsyncSession,
    principal: LoyaltyCaller,
    uuid: str,
    organisation_id: int,
    number: int,
    now: datetime,
) -> None:
    """By the owning organisation, or by the consumer's own when the contract is open to it.
    Removing the holder makes the contract inaccessible (seed: "If the owner is removed from
    the contract, it will no longer be accessible")."""
    found = await find_contract(session, principal, uuid, now, lock=True)
    contract = found.contract
    if principal.tenant_id not in (contract.tenant_id, organisation_id):
        raise foreign_customer()
    consumer, customer = await _consumer_of(session, contract, organisation_id, number)
    if consumer.is_contract_holder:
        contract.holder_removed_at = now
        stamp_change(contract, principal, now)
    await session.delete(consumer)
    await session.flush()
    audit.record_change(
        session, principal, "loyalty_contract.consumer_removed", contract, customerId=customer.id
    )
    await emit_contract_event(
        session,
        EventType.LOYALTY_CONSUMER_REMOVED,
        contract,
        now,
        customerOrganisationId=organisation_id,
        customerNumber=number,
        isContractHolder=consumer.is_contract_holder,
    )
