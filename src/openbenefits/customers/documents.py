"""A customer's documents and profile image: rows in the database, bytes in the blob store.

Bytes are stored after the row is flushed and before the transaction commits, so a refused
change leaves no blob behind; a failed commit at worst leaves a blob that nothing references and
no signed URL names.
"""

import asyncio
import io
import uuid
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from openbenefits.customers import files
from openbenefits.customers.models import Customer, CustomerDocument
from openbenefits.kit import audit
from openbenefits.kit.audit import Actor
from openbenefits.kit.blobstore import BlobStore
from openbenefits.kit.errors import InvalidRequest, NotFound, PayloadTooLarge


def _checked_size(file: BinaryIO, max_bytes: int, field: str) -> int:
    size = files.size(file)
    if size > max_bytes:
        raise PayloadTooLarge(
            f"{field} is larger than {max_bytes} bytes.", code="FILE_TOO_LARGE", reference=field
        )
    return size


def _audit(
    session: AsyncSession, actor: Actor, action: str, customer: Customer, **details: object
) -> None:
    audit.record(
        session,
        actor=actor,
        action=f"customer.{action}",
        entity_type="customer",
        entity_id=customer.id,
        tenant_id=customer.tenant_id,
        details=details,
    )


async def upload_document(
    session: AsyncSession,
    actor: Actor,
    blobs: BlobStore,
    customer: Customer,
    *,
    file: BinaryIO,
    file_name: str | None,
    description: str | None,
    max_bytes: int,
) -> CustomerDocument:
    """Keep a PDF, JPEG or PNG file for ``customer``, as sent, under a sanitised name. The file
    is measured, sniffed and stored as a stream, never read whole into memory."""
    size = _checked_size(file, max_bytes, "file")
    kind = files.sniff(file)
    if kind is None:
        raise InvalidRequest(
            "file must be a PDF, JPEG or PNG file.",
            code="DOCUMENT_TYPE_NOT_ALLOWED",
            reference="file",
        )
    document = CustomerDocument(
        tenant_id=customer.tenant_id,
        customer_id=customer.id,
        file_name=files.safe_file_name(file_name, kind),
        description=(description or "").strip() or None,
        content_type=kind.content_type,
        size=size,
        blob_key=f"documents/{uuid.uuid4().hex}",
    )
    session.add(document)
    await session.flush()
    await blobs.put(document.blob_key, file, kind.content_type)
    _audit(
        session,
        actor,
        "document.uploaded",
        customer,
        documentId=document.id,
        fileName=document.file_name,
        contentType=document.content_type,
        size=document.size,
    )
    return document


async def list_documents(
    session: AsyncSession, customer: Customer, after_id: int, size: int
) -> list[CustomerDocument]:
    """Up to ``size + 1`` of the customer's documents after ``after_id``, in id order."""
    return list(
        await session.scalars(
            select(CustomerDocument)
            .where(
                CustomerDocument.tenant_id == customer.tenant_id,
                CustomerDocument.customer_id == customer.id,
                CustomerDocument.id > after_id,
            )
            .order_by(CustomerDocument.id)
            .limit(size + 1)
        )
    )


async def get_document(
    session: AsyncSession, customer: Customer, document_id: int
) -> CustomerDocument:
    document = await session.scalar(
        select(CustomerDocument).where(
            CustomerDocument.tenant_id == customer.tenant_id,
            CustomerDocument.customer_id == customer.id,
            CustomerDocument.id == document_id,
        )
    )
    if document is None:
        raise NotFound(f"Document {document_id} not found.", code="DOCUMENT_NOT_FOUND")
    return document


async def set_image(
    session: AsyncSession,
    actor: Actor,
    blobs: BlobStore,
    customer: Customer,
    *,
    image: BinaryIO,
    max_bytes: int,
) -> tuple[str, str | None]:
    """Make a JPEG of ``image`` the customer's profile image. Answers the new image's key and that
    of the image it replaced, which the caller deletes once the change has committed (if it
    rolls back, the old image is still the one in use)."""
    _checked_size(image, max_bytes, "image")
    jpeg = await asyncio.to_thread(files.profile_jpeg, image)
    # Locked and re-read, so that of two concurrent updates the second replaces the first's image.
    await session.refresh(customer, ["image_key"], with_for_update=True)
    replaced, key = customer.image_key, f"images/{uuid.uuid4().hex}"
    customer.image_key = key
    await session.flush()
    await blobs.put(key, io.BytesIO(jpeg), "image/jpeg")
    _audit(session, actor, "image.updated", customer, size=len(jpeg))
    return key, replaced
