"""Files kept outside the database (documents, images) behind one small interface, so that a
deployment can swap the local directory for an object store without touching the domains."""

import asyncio
import contextlib
import os
import re
import tempfile
from pathlib import Path
from typing import Protocol

# Keys are relative paths of plain segments: no empty, "." or ".." segment, no leading slash, so
# a key can never name a file outside the store's root.
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(/[A-Za-z0-9][A-Za-z0-9_.-]{0,99}){0,7}$")
_CONTENT_TYPE = re.compile(r"^[\x21-\x7e]{1,100}$")


class BlobNotFound(LookupError):
    pass


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> tuple[bytes, str]:
        """The blob's bytes and content type; ``BlobNotFound`` if there is none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove the blob; deleting an absent blob is not an error."""
        ...


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not a blob key: {key!r}")
    return key


class LocalBlobStore:
    """One file per blob under ``root``: its content type on the first line, then the bytes.

    Keeping both in one file lets a write replace them together: the file is written under a
    temporary name and renamed into place, so a reader never sees half a blob.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        if not _CONTENT_TYPE.match(content_type):
            raise ValueError(f"not a content type: {content_type!r}")
        await asyncio.to_thread(self._write, self._path(key), content_type.encode(), data)

    async def get(self, key: str) -> tuple[bytes, str]:
        try:
            stored = await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as error:
            raise BlobNotFound(key) from error
        content_type, _, data = stored.partition(b"\n")
        return data, content_type.decode()

    async def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(self._path(key).unlink)

    @staticmethod
    def _write(path: Path, content_type: bytes, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # The temporary name starts with a dot, which no key segment can.
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content_type + b"\n")
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
