"""Slices (keyset) and pages."""

from openbenefits.kit.pagination import make_slice
from tests.helpers import admin_headers, expect


def test_a_slice_shows_size_rows_and_whether_more_follow():
    rows = [{"id": i} for i in range(1, 5)]
    first = make_slice(rows, 3, None, render=lambda r: r["id"], key=lambda r: r["id"])
    assert (first.result, first.hasNext, first.offset) == ([1, 2, 3], True, "3")
    last = make_slice(rows[:2], 3, "9", render=lambda r: r["id"], key=lambda r: r["id"])
    assert (last.result, last.hasNext, last.offset) == ([1, 2], False, "2")
    empty = make_slice([], 3, "9", render=lambda r: r, key=lambda r: r)
    assert (empty.result, empty.hasNext, empty.offset) == ([], False, "9")


async def test_admin_lists_are_paged(client, settings, clock):
    headers = admin_headers(settings, clock)
    for number in range(5):
        expect(
            await client.post("/admin/v1/tenants", json={"name": f"T{number}"}, headers=headers),
            201,
        )
    page = expect(await client.get("/admin/v1/tenants?page=2&perPage=2", headers=headers), 200)
    assert [t["name"] for t in page["items"]] == ["T2", "T3"]
    assert (page["page"], page["perPage"], page["totalItems"]) == (2, 2, 5)
    beyond = expect(await client.get("/admin/v1/tenants?page=9&perPage=2", headers=headers), 200)
    assert beyond["items"] == []
    assert beyond["totalItems"] == 5
