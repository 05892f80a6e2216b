"""Files kept outside the database (documents, images) behind one small interface, so that a
deployment can keep them in a local directory or an S3 bucket without touching the domains.

Blobs are written from and read as streams: an upload or a download never sits whole in memory.
"""

import asyncio
import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import urlsplit

# Keys are relative paths of plain segments: no empty, "." or ".." segment, no leading slash, so
# a key can never name a file outside the store's root.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}){0,7}$")
_CONTENT_TYPE = re.compile(r"^[\x21-\x7e]{1,100}$")
# A bucket name alone: no credentials, port or path.
_BUCKET = re.compile(r"^[A-Za-z0-9._-]+$")
CHUNK_SIZE = 256 * 1024
# Personal documents: never kept by shared caches, whichever store serves them.
DOWNLOAD_CACHE_CONTROL = "private, no-store"


class BlobNotFound(LookupError):
    pass


@dataclass(frozen=True)
class Blob:
    """A stored blob as it is read: its bytes arrive in chunks."""

    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


class BlobStore(Protocol):
    async def put(self, key: str, file: BinaryIO, content_type: str) -> None:
        """Store ``file`` from its current position to its end, replacing any blob at ``key``."""
        ...

    async def get(self, key: str) -> Blob:
        """``BlobNotFound`` if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; deleting an absent blob is not an error."""
        ...

    def presigned_url(self, key: str, ttl: timedelta) -> str | None:
        """A URL that downloads the blob straight from the store until ``ttl`` has passed, or
        None when the store has none and downloads go through our signed URLs (kit/downloads)."""
        ...


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


def check_content_type(content_type: str) -> str:
    if not _CONTENT_TYPE.match(content_type):
        raise ValueError(f"not a content type: {content_type!r}")
    return content_type


async def _chunks(stream: BinaryIO) -> AsyncIterator[bytes]:
    """``stream``'s bytes, each chunk read in a worker thread; closes it at the end."""
    try:
        while chunk := await asyncio.to_thread(stream.read, CHUNK_SIZE):
            yield chunk
    finally:
        stream.close()


def open_blob_store(url: str, local_root: Path) -> BlobStore:
    """The store ``url`` names: ``s3://bucket/prefix``, or the directory ``local_root`` if empty."""
    if not url:
        return LocalBlobStore(local_root)
    location = urlsplit(url)
    if (
        location.scheme != "s3"
        or not _BUCKET.match(location.netloc)
        or location.query
        or location.fragment
    ):
        # Not echoed: a mistaken URL may hold credentials, which belong in AWS_* variables.
        raise ValueError("BLOB_STORE_URL must be s3://bucket/prefix (or empty)")
    prefix = location.path.strip("/")
    return S3BlobStore(location.netloc, f"{prefix}/" if prefix else "")


class LocalBlobStore:
    """One file per blob under ``root``: its content type on the first line, then the bytes.

    Keeping both in one file lets a write replace them together: the file is written under a
    temporary name and renamed into place, so a reader never sees half a blob.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, file: BinaryIO, content_type: str) -> None:
        header = check_content_type(content_type).encode() + b"\n"
        await asyncio.to_thread(self._write, self._path(key), header, file)

    async def get(self, key: str) -> Blob:
        try:
            return await asyncio.to_thread(self._open, self._path(key))
        except FileNotFoundError as error:
            raise BlobNotFound(key) from error

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)

    def presigned_url(self, key: str, ttl: timedelta) -> None:  # noqa: ARG002 - BlobStore's
        return None

    @staticmethod
    def _open(path: Path) -> Blob:
        stored = path.open("rb")
        content_type = stored.readline().removesuffix(b"\n").decode()
        size = os.fstat(stored.fileno()).st_size - stored.tell()
        return Blob(content_type, size, _chunks(stored))

    @staticmethod
    def _write(path: Path, header: bytes, file: BinaryIO) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The temporary name starts with a dot, which no key segment can.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(header)
                shutil.copyfileobj(file, handle, CHUNK_SIZE)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise


class S3BlobStore:
    """Each blob an object of ``bucket`` named ``prefix`` + key; downloads go to the bucket by
    presigned URLs.

    Endpoint, region and credentials come from boto3's own environment (``AWS_*`` variables, the
    AWS config files, an instance role). boto3 is synchronous, so its calls run in worker
    threads, all through one client (clients are thread-safe).
    """

    def __init__(self, bucket: str, prefix: str) -> None:
        self.bucket = bucket
        self.prefix = prefix
        # boto3 presigns with signature version 2 unless told otherwise, which newer regions
        # refuse; version 4 is accepted everywhere.
        # Imported here: boto3 costs every process 10 MB, and the local store needs none of it.
        import boto3
        from botocore.config import Config

        self._client = boto3.client("s3", config=Config(signature_version="s3v4"))

    def _object_key(self, key: str) -> str:
        return self.prefix + check_key(key)

    async def put(self, key: str, file: BinaryIO, content_type: str) -> None:
        # upload_fileobj sends a large file in parts, a part at a time.
        await asyncio.to_thread(
            self._client.upload_fileobj,
            file,
            self.bucket,
            self._object_key(key),
            ExtraArgs={
                "ContentType": check_content_type(content_type),
                "CacheControl": DOWNLOAD_CACHE_CONTROL,
            },
        )

    async def get(self, key: str) -> Blob:
        try:
            stored = await asyncio.to_thread(
                self._client.get_object, Bucket=self.bucket, Key=self._object_key(key)
            )
        except self._client.exceptions.NoSuchKey as error:
            raise BlobNotFound(key) from error
        return Blob(stored["ContentType"], stored["ContentLength"], _chunks(stored["Body"]))

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(
            self._client.delete_object, Bucket=self.bucket, Key=self._object_key(key)
        )

    def presigned_url(self, key: str, ttl: timedelta) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self.bucket, "Key": self._object_key(key)},
            ExpiresIn=int(ttl.total_seconds()),
        )
        return url
