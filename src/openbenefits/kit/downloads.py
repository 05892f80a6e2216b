"""Expiring download URLs for blobs, and the public route that serves ours.

A store that presigns its own URLs (S3) is downloaded from directly. Otherwise a URL carries the
blob key, an expiry instant and an HMAC of both under a key derived from the instance secret.
Whoever holds the URL may download until it expires, with no credentials and no database lookup;
changing any part of it breaks the signature.
"""

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from openbenefits.kit.blobstore import DOWNLOAD_CACHE_CONTROL, BlobNotFound, BlobStore
from openbenefits.kit.errors import Forbidden, NotFound
from openbenefits.kit.routing import (
    BlobsDep,
    ClockDep,
    SettingsDep,
    get_blobs,
    get_clock,
    get_settings,
)
from openbenefits.kit.schemas import problem_responses
from openbenefits.kit.security import derive_key

DOWNLOAD_TTL = timedelta(minutes=15)
_EXPIRES = re.compile(r"^[0-9]{1,12}$")


def _signature(master: bytes, key: str, expires: int) -> bytes:
    message = f"{key}\n{expires}".encode()
    digest = hmac.new(derive_key(master, "download-url"), message, hashlib.sha256)
    return digest.hexdigest().encode()


@dataclass(frozen=True)
class DownloadUrls:
    """Download URLs for one request, valid for ``DOWNLOAD_TTL``: the store's presigned URLs, or
    ours, signed, absolute under the request's base URL and valid from its now."""

    blobs: BlobStore
    base_url: str
    master: bytes
    now: datetime

    def url(self, key: str) -> str:
        presigned = self.blobs.presigned_url(key, DOWNLOAD_TTL)
        if presigned is not None:
            return presigned
        expires = int((self.now + DOWNLOAD_TTL).timestamp())
        signature = _signature(self.master, key, expires).decode()
        query = urlencode({"expires": expires, "signature": signature})
        return f"{self.base_url.rstrip('/')}/files/{key}?{query}"


def verify(master: bytes, key: str, expires: str, signature: str, now: datetime) -> None:
    if not _EXPIRES.match(expires) or not hmac.compare_digest(
        _signature(master, key, int(expires)), signature.encode()
    ):
        raise Forbidden("The download URL is not valid.", code="URL_SIGNATURE_INVALID")
    if now.timestamp() >= int(expires):
        raise Forbidden("The download URL has expired.", code="URL_EXPIRED")


async def _download_urls(request: Request) -> DownloadUrls:
    return DownloadUrls(
        get_blobs(request),
        str(request.base_url),
        get_settings(request).signing_key,
        get_clock(request).now(),
    )


DownloadUrlsDep = Annotated[DownloadUrls, Depends(_download_urls)]

router = APIRouter(tags=["files"])
_RESPONSES = problem_responses(403, 404)
_RESPONSES[403] = {**_RESPONSES[403], "description": "The URL was altered or has expired."}


@router.get("/files/{key:path}", responses=_RESPONSES)
async def download(
    key: str,
    settings: SettingsDep,
    clock: ClockDep,
    blobs: BlobsDep,
    expires: str = "",
    signature: str = "",
) -> StreamingResponse:
    """A file behind a signed URL from the studio Open API (documents, profile images); the URL
    stops working 15 minutes after it was issued."""
    verify(settings.signing_key, key, expires, signature, clock.now())
    try:
        blob = await blobs.get(key)
    except BlobNotFound as error:
        raise NotFound("The file no longer exists.", code="FILE_NOT_FOUND") from error
    # Personal documents: never reinterpreted by a browser either.
    return StreamingResponse(
        blob.chunks,
        media_type=blob.content_type,
        headers={
            "Content-Length": str(blob.size),
            "Cache-Control": DOWNLOAD_CACHE_CONTROL,
            "X-Content-Type-Options": "nosniff",
        },
    )
