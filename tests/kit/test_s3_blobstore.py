"""The S3 blob store against moto's S3 server: round trips under the prefix, streamed multipart
uploads, presigned download URLs, and the studio Open API's files kept in the bucket."""

import io
import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from openbenefits.app import create_app
from openbenefits.kit.blobstore import BlobNotFound, LocalBlobStore, S3BlobStore, open_blob_store
from openbenefits.kit.downloads import DOWNLOAD_TTL
from tests.blobs import contents
from tests.customers.uploads import PDF, image
from tests.helpers import expect

MiB = 1024 * 1024


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_endpoint, monkeypatch) -> str:
    """A fresh bucket, and boto3's environment pointing at it (and at nothing on this machine)."""
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    name = f"files-{uuid.uuid4().hex[:12]}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def objects(bucket: str) -> list[str]:
    listed = boto3.client("s3").list_objects_v2(Bucket=bucket)
    return [item["Key"] for item in listed.get("Contents", [])]


@pytest.mark.parametrize(
    ("path", "object_key"),
    [
        ("", "documents/a1"),
        ("/", "documents/a1"),
        ("/tenant-files", "tenant-files/documents/a1"),
        ("/eu/tenant-files/", "eu/tenant-files/documents/a1"),
    ],
)
async def test_put_get_replace_delete_under_the_prefix(bucket, tmp_path, path, object_key):
    store = open_blob_store(f"s3://{bucket}{path}", tmp_path)
    assert isinstance(store, S3BlobStore)
    await store.put("documents/a1", io.BytesIO(PDF), "application/pdf")
    assert objects(bucket) == [object_key]
    blob = await store.get("documents/a1")
    assert (blob.content_type, blob.size) == ("application/pdf", len(PDF))
    assert await contents(blob) == PDF
    await store.put("documents/a1", io.BytesIO(b"\x89PNG"), "image/png")
    blob = await store.get("documents/a1")
    assert (await contents(blob), blob.content_type) == (b"\x89PNG", "image/png")
    await store.delete("documents/a1")
    assert objects(bucket) == []
    with pytest.raises(BlobNotFound):
        await store.get("documents/a1")
    await store.delete("documents/a1")


async def test_keys_and_content_types_are_checked_as_locally(bucket, tmp_path):
    store = open_blob_store(f"s3://{bucket}/p", tmp_path)
    with pytest.raises(ValueError, match="not a blob key"):
        await store.put("../outside", io.BytesIO(b"x"), "text/plain")
    with pytest.raises(ValueError, match="not a content type"):
        await store.put("a", io.BytesIO(b"x"), "text/plain\nX-Evil: 1")
    assert objects(bucket) == []


def test_an_empty_url_means_the_local_directory(tmp_path):
    store = open_blob_store("", tmp_path / "blobs")
    assert isinstance(store, LocalBlobStore)
    assert store.root == tmp_path / "blobs"


@pytest.mark.parametrize(
    "url",
    [
        "bucket/prefix",
        "https://bucket.s3.amazonaws.com/prefix",
        "gs://bucket/prefix",
        "s3://",
        "s3:///prefix",
        "s3://key:secret@bucket/prefix",
        "s3://bucket:9000/prefix",
        "s3://bucket/prefix?region=eu-west-1",
    ],
)
def test_a_bad_url_is_refused_at_start(settings, db, url):
    with pytest.raises(ValueError, match=r"BLOB_STORE_URL must be s3://bucket/prefix"):
        create_app(settings.model_copy(update={"blob_store_url": url}), db=db)


async def test_a_presigned_url_downloads_the_blob_for_15_minutes(bucket, tmp_path):
    store = open_blob_store(f"s3://{bucket}/p", tmp_path)
    await store.put("documents/a1", io.BytesIO(PDF), "application/pdf")
    url = httpx.URL(store.presigned_url("documents/a1", DOWNLOAD_TTL))
    assert url.path == f"/{bucket}/p/documents/a1"
    assert url.params["X-Amz-Expires"] == "900"
    signed_at = datetime.strptime(url.params["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - signed_at) < timedelta(minutes=1)
    async with httpx.AsyncClient() as http:
        download = await http.get(url)
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["content-type"] == "application/pdf"
        assert download.headers["cache-control"] == "private, no-store"


@pytest.fixture
def app(settings, db, clock, bucket):
    """The app with BLOB_STORE_URL naming the bucket, and room for a 12 MiB document."""
    configured = settings.model_copy(
        update={"blob_store_url": f"s3://{bucket}/files", "max_document_bytes": 16 * MiB}
    )
    return create_app(configured, db=db, clock=clock)


async def upload(chain, customer_id, data, name="contract.pdf"):
    return expect(
        await chain.client.post(
            f"/v1/customers/{customer_id}/documents",
            files={"file": (name, data, "application/octet-stream")},
            headers=chain.key_a,
        ),
        200,
    )


async def download(url: str) -> httpx.Response:
    """A GET as the API's client would make it: straight to S3, without our app."""
    async with httpx.AsyncClient() as http:
        return await http.get(url)


async def test_a_document_is_kept_in_the_bucket_and_downloaded_from_it(chain, bucket):
    customer = await chain.customer()
    created = await upload(chain, customer["id"], PDF)
    (object_key,) = objects(bucket)
    assert object_key.startswith("files/documents/")
    path = f"/v1/customers/{customer['id']}/documents"
    shown = expect(await chain.client.get(f"{path}/{created['id']}", headers=chain.key_a), 200)
    listed = expect(await chain.client.get(path, headers=chain.key_a), 200)
    for url in (httpx.URL(shown["url"]), httpx.URL(listed["result"][0]["url"])):
        assert url.path == f"/{bucket}/{object_key}"
        assert url.params["X-Amz-Expires"] == str(int(DOWNLOAD_TTL.total_seconds())) == "900"
        answer = await download(str(url))
        assert answer.status_code == 200
        assert answer.content == PDF
        assert answer.headers["content-type"] == "application/pdf"


async def test_a_large_document_is_streamed_to_the_bucket_in_parts(chain, bucket, monkeypatch):
    data = PDF + os.urandom(12 * MiB)
    reads = []

    class UploadedFile(tempfile.SpooledTemporaryFile):
        """The request's spooled file, which must never be read whole (into memory)."""

        def read(self, size=-1):
            assert size not in (-1, None), "the upload was read whole"
            reads.append(size)
            return super().read(size)

    monkeypatch.setattr("starlette.formparsers.SpooledTemporaryFile", UploadedFile)
    customer = await chain.customer()
    created = await upload(chain, customer["id"], data)
    (object_key,) = objects(bucket)
    stored = boto3.client("s3").head_object(Bucket=bucket, Key=object_key)
    assert stored["ContentLength"] == len(data)
    assert stored["ContentType"] == "application/pdf"
    # A multipart upload's ETag ends with its number of parts.
    assert stored["ETag"].strip('"').endswith("-2")
    assert max(reads) <= 8 * MiB  # boto3's part size
    shown = expect(
        await chain.client.get(
            f"/v1/customers/{customer['id']}/documents/{created['id']}", headers=chain.key_a
        ),
        200,
    )
    assert (await download(shown["url"])).content == data


async def test_the_profile_image_is_kept_in_the_bucket_and_replaced_there(chain, bucket):
    customer = await chain.customer()
    path = f"/v1/customers/{customer['id']}"
    for size in ((50, 40), (60, 40)):
        answer = expect(
            await chain.client.put(
                f"{path}/images",
                files={"image": ("me.png", image("PNG", size), "image/png")},
                headers=chain.key_a,
            ),
            200,
        )
    (object_key,) = objects(bucket)
    assert object_key.startswith("files/images/")
    shown = expect(await chain.client.get(path, headers=chain.key_a), 200)
    for url in (answer["imageUrl"], shown["imageUrl"]):
        assert httpx.URL(url).path == f"/{bucket}/{object_key}"
        assert httpx.URL(url).params["X-Amz-Expires"] == "900"
        fetched = await download(url)
        assert fetched.headers["content-type"] == "image/jpeg"
        assert fetched.content.startswith(b"\xff\xd8\xff")
