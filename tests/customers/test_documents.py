"""Studio Open API: uploading, listing and reading customer documents; signed download URLs."""

from datetime import timedelta

import httpx
import pytest

from tests.customers.uploads import PDF, image, raw_multipart
from tests.helpers import expect

JPEG = image("JPEG", (40, 30))
PNG = image("PNG", (40, 30))
MAX_DOCUMENT = 256 * 1024  # the test settings' max_document_bytes


async def upload(chain, customer_id, name="contract.pdf", data=PDF, key=None, **params):
    return await chain.client.post(
        f"/v1/customers/{customer_id}/documents",
        files={"file": (name, data, "application/octet-stream")},
        params=params,
        headers=key or chain.key_a,
    )


async def document(chain, customer_id, document_id):
    return expect(
        await chain.client.get(
            f"/v1/customers/{customer_id}/documents/{document_id}", headers=chain.key_a
        ),
        200,
    )


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("contract.pdf", PDF, "application/pdf"),
        ("id.jpg", JPEG, "image/jpeg"),
        ("id.png", PNG, "image/png"),
    ],
)
async def test_each_allowed_type_is_kept_and_served_by_its_signed_url(
    chain, name, data, content_type
):
    customer = await chain.customer()
    created = expect(
        await upload(chain, customer["id"], name, data, description="Member contract"), 200
    )
    assert set(created) == {"id"}
    shown = await document(chain, customer["id"], created["id"])
    assert shown.keys() == {"id", "url", "fileName", "description"}
    assert shown["id"] == created["id"]
    assert shown["fileName"] == name
    assert shown["description"] == "Member contract"
    assert shown["url"].startswith("http://testserver/files/")
    download = await chain.client.get(shown["url"])
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == content_type
    assert download.headers["x-content-type-options"] == "nosniff"
    assert "no-store" in download.headers["cache-control"]


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("setup.exe", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(200)),
        ("contract.pdf", b"This is only text pretending to be a PDF."),
        ("anim.gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"),
        ("empty.pdf", b""),
        ("late.pdf", b" %PDF-1.4\n"),
    ],
)
async def test_other_types_are_refused_whatever_the_name(chain, blobs, name, data):
    customer = await chain.customer()
    response = await upload(chain, customer["id"], name, data)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "DOCUMENT_TYPE_NOT_ALLOWED"
    assert response.json()["reference"] == "file"
    listed = expect(
        await chain.client.get(f"/v1/customers/{customer['id']}/documents", headers=chain.key_a),
        200,
    )
    assert listed["result"] == []
    assert not blobs.root.exists()


async def test_size_limits(chain):
    customer = await chain.customer()
    # Larger than the general body limit (64 KiB in the tests): upload routes allow more.
    exactly = PDF + b"%" * (MAX_DOCUMENT - len(PDF))
    expect(await upload(chain, customer["id"], data=exactly), 200)
    over = await upload(chain, customer["id"], data=exactly + b"%")
    assert over.status_code == 413
    assert over.json()["errorCode"] == "FILE_TOO_LARGE"
    far_over = await upload(chain, customer["id"], data=exactly * 2)
    assert far_over.status_code == 413
    assert far_over.json()["errorCode"] == "PAYLOAD_TOO_LARGE"
    elsewhere = await chain.client.post(
        "/v1/customers/search",
        content=b'{"lastName": "' + b"x" * MAX_DOCUMENT + b'"}',
        headers={**chain.key_a, "content-type": "application/json"},
    )
    assert elsewhere.status_code == 413


@pytest.mark.parametrize(
    ("sent", "kept"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("..\\..\\Windows\\system.ini.pdf", "system.ini.pdf"),
        ("../../etc/passwd", "passwd.pdf"),
        ("scan", "scan.pdf"),
        ("scan.PDF", "scan.PDF"),
        ("photo.png", "photo.png.pdf"),
        ("..", "document.pdf"),
        ("  .hidden.pdf ", "hidden.pdf"),
        ("Vertrag Müller.pdf", "Vertrag Müller.pdf"),
        ("x" * 300 + ".pdf", "x" * 196 + ".pdf"),
    ],
)
async def test_file_names_are_sanitised(chain, sent, kept):
    customer = await chain.customer()
    created = expect(await upload(chain, customer["id"], sent), 200)
    assert (await document(chain, customer["id"], created["id"]))["fileName"] == kept


async def test_control_and_formatting_characters_are_dropped_from_names(chain):
    customer = await chain.customer()
    # Bytes an HTTP client would escape: a bell, a tab, a right-to-left override, a DEL.
    name = "in\x07voice\t\u202efdp.exe\x7f.pdf".encode()
    body, headers = raw_multipart("file", name, PDF)
    response = await chain.client.post(
        f"/v1/customers/{customer['id']}/documents",
        content=body,
        headers={**chain.key_a, **headers},
    )
    created = expect(response, 200)
    assert (await document(chain, customer["id"], created["id"]))[
        "fileName"
    ] == "invoicefdp.exe.pdf"


async def test_documents_are_listed_in_slices(chain):
    customer = await chain.customer()
    other = await chain.customer()
    await upload(chain, other["id"])
    ids = [expect(await upload(chain, customer["id"], f"d{n}.pdf"), 200)["id"] for n in range(5)]
    path = f"/v1/customers/{customer['id']}/documents"
    everything = expect(await chain.client.get(path, headers=chain.key_a), 200)
    assert [d["id"] for d in everything["result"]] == ids
    assert everything["hasNext"] is False
    assert everything["offset"] == str(ids[-1])
    assert "description" not in everything["result"][0]
    seen, offset, slices = [], "0", []
    while True:
        page = expect(
            await chain.client.get(
                path, params={"offset": offset, "sliceSize": 2}, headers=chain.key_a
            ),
            200,
        )
        seen += [d["fileName"] for d in page["result"]]
        slices.append(page["hasNext"])
        offset = page["offset"]
        if not page["hasNext"]:
            break
    assert seen == [f"d{n}.pdf" for n in range(5)]
    assert slices == [True, True, False]
    after_last = await chain.client.get(path, params={"offset": offset}, headers=chain.key_a)
    assert expect(after_last, 200) == {"result": [], "hasNext": False, "offset": offset}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"sliceSize": 0}, "VALIDATION_ERROR"),
        ({"sliceSize": 51}, "VALIDATION_ERROR"),
        ({"offset": "abc"}, "INVALID_OFFSET"),
        ({"offset": "-1"}, "INVALID_OFFSET"),
        ({"offset": "²"}, "INVALID_OFFSET"),
        ({"offset": "9" * 30}, "INVALID_OFFSET"),
    ],
)
async def test_bad_slice_parameters_are_400(chain, params, code):
    customer = await chain.customer()
    response = await chain.client.get(
        f"/v1/customers/{customer['id']}/documents", params=params, headers=chain.key_a
    )
    assert response.status_code == 400
    assert response.json()["errorCode"] == code


async def test_another_studios_customer_and_unknown_documents_are_404(chain):
    mine = await chain.customer()
    theirs = await chain.customer(studio=chain.studio_b)
    created = expect(await upload(chain, mine["id"], key=chain.key_a), 200)
    for response in (
        await chain.client.get(f"/v1/customers/{theirs['id']}/documents", headers=chain.key_a),
        await upload(chain, theirs["id"]),
        await chain.client.get(
            f"/v1/customers/{mine['id']}/documents/{created['id']}", headers=chain.key_b
        ),
    ):
        assert response.status_code == 404
        assert response.json()["errorCode"] == "CUSTOMER_NOT_FOUND"
    other = await chain.customer()
    for path in (
        f"/v1/customers/{other['id']}/documents/{created['id']}",
        f"/v1/customers/{mine['id']}/documents/{created['id'] + 1000}",
    ):
        response = await chain.client.get(path, headers=chain.key_a)
        assert response.status_code == 404
        assert response.json()["errorCode"] == "DOCUMENT_NOT_FOUND"


async def test_documents_need_their_scopes(chain):
    customer = await chain.customer()
    created = expect(await upload(chain, customer["id"]), 200)
    reader = await chain.key(chain.studio_a, ["CUSTOMER_READ", "CUSTOMER_DOCUMENT_READ"])
    customer_only = await chain.key(chain.studio_a, ["CUSTOMER_READ", "CUSTOMER_WRITE"])
    path = f"/v1/customers/{customer['id']}/documents"
    expect(await chain.client.get(path, headers=reader), 200)
    expect(await chain.client.get(f"{path}/{created['id']}", headers=reader), 200)
    for response in (
        await upload(chain, customer["id"], key=reader),
        await chain.client.get(path, headers=customer_only),
        await chain.client.get(f"{path}/{created['id']}", headers=customer_only),
    ):
        assert response.status_code == 403
        assert response.json()["errorCode"] == "MISSING_SCOPE"
    assert (await chain.client.get(path)).status_code == 401


async def test_a_download_url_expires_after_15_minutes(chain, clock):
    customer = await chain.customer()
    created = expect(await upload(chain, customer["id"]), 200)
    url = (await document(chain, customer["id"], created["id"]))["url"]
    clock.advance(timedelta(minutes=14, seconds=59))
    assert (await chain.client.get(url)).content == PDF
    clock.advance(timedelta(seconds=1))
    expired = await chain.client.get(url)
    assert expired.status_code == 403
    assert expired.headers["content-type"] == "application/problem+json"
    assert expired.json()["code"] == "URL_EXPIRED"
    fresh = (await document(chain, customer["id"], created["id"]))["url"]
    assert (await chain.client.get(fresh)).status_code == 200


async def test_a_tampered_download_url_is_refused(chain):
    customer = await chain.customer()
    first = expect(await upload(chain, customer["id"]), 200)
    second = expect(await upload(chain, customer["id"], data=PNG, name="b.png"), 200)
    url = httpx.URL((await document(chain, customer["id"], first["id"]))["url"])
    other = httpx.URL((await document(chain, customer["id"], second["id"]))["url"])
    signature = url.params["signature"]
    later = str(int(url.params["expires"]) + 3600)
    for forged in (
        url.copy_set_param("signature", signature[:-1] + ("0" if signature[-1] != "0" else "1")),
        url.copy_set_param("expires", later),
        url.copy_set_param("signature", "é"),
        url.copy_remove_param("signature"),
        url.copy_set_param("expires", "soon"),
        other.copy_with(query=url.query),
        url.copy_with(path=other.path),
    ):
        response = await chain.client.get(forged)
        assert response.status_code == 403, forged
        assert response.json()["code"] == "URL_SIGNATURE_INVALID"


async def test_description_is_optional_and_checked(chain):
    customer = await chain.customer()
    created = expect(await upload(chain, customer["id"]), 200)
    assert "description" not in await document(chain, customer["id"], created["id"])
    for bad in ("line\nbreak", "x" * 501):
        response = await upload(chain, customer["id"], description=bad)
        assert response.status_code == 400
        assert response.json()["reference"] == "query.description"


async def test_a_missing_file_part_is_400(chain):
    customer = await chain.customer()
    response = await chain.client.post(
        f"/v1/customers/{customer['id']}/documents",
        files={"document": ("a.pdf", PDF)},
        headers=chain.key_a,
    )
    assert response.status_code == 400
    assert response.json()["reference"] == "body.file"


async def test_an_upload_retried_with_its_idempotency_key_is_kept_once(chain):
    customer = await chain.customer()
    body, headers = raw_multipart("file", b"contract.pdf", PDF)
    path = f"/v1/customers/{customer['id']}/documents"
    headers = {**chain.key_a, **headers, "Idempotency-Key": "upload-1"}
    first = await chain.client.post(path, content=body, headers=headers)
    again = await chain.client.post(path, content=body, headers=headers)
    assert expect(again, 200) == expect(first, 200)
    assert again.headers["idempotent-replayed"] == "true"
    listed = expect(await chain.client.get(path, headers=chain.key_a), 200)
    assert [d["id"] for d in listed["result"]] == [first.json()["id"]]


async def test_uploads_are_audited(chain):
    customer = await chain.customer()
    created = expect(await upload(chain, customer["id"]), 200)
    log = expect(
        await chain.client.get(
            f"/admin/v1/tenants/{chain.tenant_id}/audit-log", headers=chain.admin
        ),
        200,
    )
    entry = log["items"][0]
    assert entry["action"] == "customer.document.uploaded"
    assert entry["entityId"] == str(customer["id"])
    assert entry["actor"].startswith("api_key:")
    assert entry["details"] == {
        "documentId": created["id"],
        "fileName": "contract.pdf",
        "contentType": "application/pdf",
        "size": len(PDF),
    }


def _schema(spec, content):
    schema = content["schema"]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


@pytest.mark.parametrize(
    ("method", "path", "operation_id", "parameters", "body", "fields", "required"),
    [
        (
            "get",
            "/v1/customers/{customerId}/documents",
            "getDocuments",
            {"customerId", "offset", "sliceSize"},
            None,
            {"result", "hasNext", "offset"},
            {"result", "hasNext", "offset"},
        ),
        (
            "post",
            "/v1/customers/{customerId}/documents",
            "uploadDocument",
            {"customerId", "description"},
            "file",
            {"id"},
            set(),
        ),
        (
            "get",
            "/v1/customers/{customerId}/documents/{id}",
            "getDocumentById",
            {"customerId", "id"},
            None,
            {"url", "id", "fileName", "description"},
            set(),
        ),
        (
            "put",
            "/v1/customers/{customerId}/images",
            "updateImage",
            {"customerId"},
            "image",
            {"imageUrl"},
            set(),
        ),
    ],
)
async def test_operations_are_described_as_in_the_reference(
    client, method, path, operation_id, parameters, body, fields, required
):
    spec = (await client.get("/openapi.json")).json()
    operation = spec["paths"][path][method]
    assert operation["operationId"] == operation_id
    assert {p["name"] for p in operation["parameters"]} == parameters
    if body:
        form = _schema(spec, operation["requestBody"]["content"]["multipart/form-data"])
        assert set(form["properties"]) == {body}
        assert form["required"] == [body]
    answer = _schema(spec, operation["responses"]["200"]["content"]["application/json"])
    assert set(answer["properties"]) == fields
    assert set(answer.get("required", [])) == required
