"""Studio Open API: the customer's profile image, re-encoded as a JPEG within 1200 x 1200."""

import asyncio
import io
from datetime import timedelta

import pytest
from PIL import Image

from tests.customers.uploads import PDF, image, png_claiming
from tests.helpers import expect


async def put_image(chain, customer_id, data, name="me.png", key=None):
    return await chain.client.put(
        f"/v1/customers/{customer_id}/images",
        files={"image": (name, data, "image/png")},
        headers=key or chain.key_a,
    )


async def fetch_jpeg(chain, url) -> Image.Image:
    download = await chain.client.get(url)
    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "image/jpeg"
    picture = Image.open(io.BytesIO(download.content))
    assert picture.format == "JPEG"
    return picture


@pytest.mark.parametrize(
    ("fmt", "size", "stored"),
    [
        ("PNG", (2400, 1200), (1200, 600)),
        ("JPEG", (600, 1600), (450, 1200)),
        ("PNG", (1300, 1300), (1200, 1200)),
        ("JPEG", (300, 200), (300, 200)),
    ],
)
async def test_images_are_stored_as_jpeg_within_1200_keeping_the_aspect(chain, fmt, size, stored):
    customer = await chain.customer()
    answer = expect(await put_image(chain, customer["id"], image(fmt, size)), 200)
    assert set(answer) == {"imageUrl"}
    assert answer["imageUrl"].startswith("http://testserver/files/images/")
    assert (await fetch_jpeg(chain, answer["imageUrl"])).size == stored


async def test_transparency_becomes_white_and_metadata_is_dropped(chain):
    customer = await chain.customer()
    clear = image("PNG", (10, 10), mode="RGBA")
    answer = expect(await put_image(chain, customer["id"], clear), 200)
    picture = await fetch_jpeg(chain, answer["imageUrl"])
    assert all(channel > 245 for channel in picture.getpixel((5, 5)))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: the camera was turned; show rotated by 90 degrees
    exif[0x010F] = "Camera Maker"
    photo = image("JPEG", (400, 200), exif=exif.tobytes())
    answer = expect(await put_image(chain, customer["id"], photo, "photo.jpg"), 200)
    upright = await fetch_jpeg(chain, answer["imageUrl"])
    assert upright.size == (200, 400)
    assert dict(upright.getexif()) == {}


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (image("GIF", (20, 20), mode="P"), "INVALID_IMAGE"),
        (image("BMP", (20, 20)), "INVALID_IMAGE"),
        (PDF, "INVALID_IMAGE"),
        (b"\x89PNG\r\n\x1a\nnot really", "INVALID_IMAGE"),
        (image("JPEG", (200, 200))[:300], "INVALID_IMAGE"),
        (b"", "INVALID_IMAGE"),
        (png_claiming(9000, 9000), "IMAGE_TOO_LARGE"),
        (png_claiming(30000, 30000), "IMAGE_TOO_LARGE"),
    ],
)
async def test_anything_but_a_sane_jpeg_or_png_is_refused(chain, blobs, data, code):
    customer = await chain.customer()
    response = await put_image(chain, customer["id"], data)
    assert response.status_code == 400
    assert response.json()["errorCode"] == code
    assert response.json()["reference"] == "image"
    shown = expect(
        await chain.client.get(f"/v1/customers/{customer['id']}", headers=chain.key_a), 200
    )
    assert "imageUrl" not in shown
    assert not blobs.root.exists()


async def test_an_image_over_the_size_limit_is_413(chain):
    customer = await chain.customer()
    raw = image("PNG", (300, 300), compress_level=0)  # 270 kB: over the tests' 256 KiB limit
    response = await put_image(chain, customer["id"], raw)
    assert response.status_code == 413
    assert response.json()["errorCode"] == "FILE_TOO_LARGE"
    assert response.json()["reference"] == "image"


async def test_the_customer_shows_a_working_signed_image_url(chain, clock):
    customer = await chain.customer()
    path = f"/v1/customers/{customer['id']}"
    assert "imageUrl" not in expect(await chain.client.get(path, headers=chain.key_a), 200)
    answer = expect(await put_image(chain, customer["id"], image("PNG", (50, 40))), 200)
    stored = (await chain.client.get(answer["imageUrl"])).content
    for shown in (
        expect(await chain.client.get(path, headers=chain.key_a), 200),
        expect(
            await chain.client.get(
                f"/admin/v1/tenants/{chain.tenant_id}/customers/{customer['id']}",
                headers=chain.admin,
            ),
            200,
        ),
    ):
        assert (await chain.client.get(shown["imageUrl"])).content == stored
    clock.advance(timedelta(minutes=15))
    assert (await chain.client.get(answer["imageUrl"])).status_code == 403


async def test_a_new_image_replaces_the_old_one(chain, blobs):
    customer = await chain.customer()
    first = expect(await put_image(chain, customer["id"], image("PNG", (50, 40))), 200)
    second = expect(await put_image(chain, customer["id"], image("JPEG", (60, 40))), 200)
    assert (await fetch_jpeg(chain, second["imageUrl"])).size == (60, 40)
    gone = await chain.client.get(first["imageUrl"])
    assert gone.status_code == 404
    assert gone.json()["code"] == "FILE_NOT_FOUND"
    assert len(list((blobs.root / "images").iterdir())) == 1


async def test_concurrent_updates_leave_exactly_one_image(chain, blobs):
    customer = await chain.customer()
    answers = await asyncio.gather(
        *(put_image(chain, customer["id"], image("PNG", (20 + n, 20))) for n in range(6))
    )
    assert [a.status_code for a in answers] == [200] * 6
    shown = expect(
        await chain.client.get(f"/v1/customers/{customer['id']}", headers=chain.key_a), 200
    )
    (kept,) = (blobs.root / "images").iterdir()
    assert f"/files/images/{kept.name}?" in shown["imageUrl"]


async def test_updating_the_image_needs_customer_write_and_the_customers_studio(chain):
    customer = await chain.customer()
    theirs = await chain.customer(studio=chain.studio_b)
    documents_only = await chain.key(chain.studio_a, ["CUSTOMER_READ", "CUSTOMER_DOCUMENT_WRITE"])
    refused = await put_image(chain, customer["id"], image("PNG", (5, 5)), key=documents_only)
    assert refused.status_code == 403
    assert refused.json()["errorCode"] == "MISSING_SCOPE"
    missing = await put_image(chain, theirs["id"], image("PNG", (5, 5)))
    assert missing.status_code == 404
    assert missing.json()["errorCode"] == "CUSTOMER_NOT_FOUND"
