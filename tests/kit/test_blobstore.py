"""The local blob store: round trips, atomic replacement, and keys that cannot leave the root."""

import pytest

from openbenefits.kit.blobstore import BlobNotFound, LocalBlobStore


async def test_put_get_replace_delete(tmp_path):
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put("documents/a1", b"%PDF-1.7\n\x00\xff", "application/pdf")
    assert await store.get("documents/a1") == (b"%PDF-1.7\n\x00\xff", "application/pdf")
    await store.put("documents/a1", b"\x89PNG", "image/png")
    assert await store.get("documents/a1") == (b"\x89PNG", "image/png")
    assert [p.name for p in (tmp_path / "blobs" / "documents").iterdir()] == ["a1"]
    await store.delete("documents/a1")
    with pytest.raises(BlobNotFound):
        await store.get("documents/a1")
    await store.delete("documents/a1")


@pytest.mark.parametrize(
    "key",
    ["../outside", "documents/../../outside", "/etc/passwd", "a//b", "a/./b", ".hidden", "a/", ""],
)
async def test_keys_cannot_escape_the_root(tmp_path, key):
    store = LocalBlobStore(tmp_path / "blobs")
    with pytest.raises(ValueError, match="not a blob key"):
        await store.put(key, b"x", "text/plain")
    with pytest.raises(ValueError, match="not a blob key"):
        await store.get(key)
    assert not list(tmp_path.rglob("*outside*"))


async def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    store = LocalBlobStore(tmp_path)

    def fail(*_args):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        await store.put("documents/a1", b"data", "application/pdf")
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []


async def test_content_types_are_one_token(tmp_path):
    with pytest.raises(ValueError, match="not a content type"):
        await LocalBlobStore(tmp_path).put("a", b"x", "text/plain\nX-Evil: 1")
