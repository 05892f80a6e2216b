"""The local blob store: round trips, streaming, atomic replacement, and keys that cannot leave
the root."""

import io
from datetime import timedelta

import pytest

from openbenefits.kit.blobstore import CHUNK_SIZE, BlobNotFound, LocalBlobStore
from tests.blobs import contents


async def test_put_get_replace_delete(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    data = b"%PDF-1.7\n\x00\xff"
    await store.put("documents/a1", io.BytesIO(data), "application/pdf")
    blob = await store.get("documents/a1")
    assert (blob.content_type, blob.size) == ("application/pdf", len(data))
    assert await contents(blob) == data
    await store.put("documents/a1", io.BytesIO(b"\x89PNG"), "image/png")
    blob = await store.get("documents/a1")
    assert (await contents(blob), blob.content_type) == (b"\x89PNG", "image/png")
    assert [p.name for p in (tmp_path / "blobs" / "documents").iterdir()] == ["a1"]
    await store.delete("documents/a1")
    with pytest.raises(BlobNotFound):
        await store.get("documents/a1")
    await store.delete("documents/a1")


async def test_large_blobs_are_written_and_read_in_chunks(tmp_path, monkeypatch):
    data = bytes(range(256)) * (3 * CHUNK_SIZE // 256) + b"tail"
    upload = io.BytesIO(data)
    reads = []
    read = upload.read

    def counted(size=-1):
        reads.append(size)
        return read(size)

    monkeypatch.setattr(upload, "read", counted)
    store = LocalBlobStore(tmp_path)
    await store.put("documents/big", upload, "application/pdf")
    assert reads
    assert all(0 < size <= CHUNK_SIZE for size in reads)
    blob = await store.get("documents/big")
    assert blob.size == len(data)
    chunks = [chunk async for chunk in blob.chunks]
    assert [len(chunk) for chunk in chunks] == [CHUNK_SIZE] * 3 + [4]
    assert b"".join(chunks) == data


async def test_downloads_go_through_our_signed_urls(tmp_path):
    assert LocalBlobStore(tmp_path).presigned_url("documents/a1", timedelta(minutes=15)) is None


@pytest.mark.parametrize(
    "key",
    ["../outside", "documents/../../outside", "/etc/passwd", "a//b", "a/./b", ".hidden", "a/", ""],
)
async def test_keys_cannot_escape_the_root(tmp_path, key):
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(ValueError, match="not a blob key"):
        await store.put(key, io.BytesIO(b"x"), "text/plain")
    with pytest.raises(ValueError, match="not a blob key"):
        await store.get(key)
    assert not list(tmp_path.rglob("*outside*"))


async def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = LocalBlobStore(tmp_path)

    def fail(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        await store.put("documents/a1", io.BytesIO(b"data"), "application/pdf")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


async def test_content_types_are_one_token(tmp_path):
    with pytest.raises(ValueError, match="not a content type"):
        await LocalBlobStore(tmp_path).put("a", io.BytesIO(b"x"), "text/plain\nX-Evil: 1")
