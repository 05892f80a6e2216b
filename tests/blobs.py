"""Reading a stored blob whole, for tests."""

from openbenefits.kit.blobstore import Blob


async def contents(blob: Blob) -> bytes:
    return b"".join([chunk async for chunk in blob.chunks])
