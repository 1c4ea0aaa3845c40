"""The users resource over HTTP, on SQLite and PostgreSQL: every verb, validation, pagination, conditional requests."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_EMAIL

USERS = "/api/v1/users"


def create(api: TestClient, email: str, name: str = "Ada Lovelace", **extra: Any) -> dict[str, Any]:
    response = api.post(USERS, json={"email": email, "name": name, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_create_answers_201_with_location_etag_and_the_user(api: TestClient) -> None:
    response = api.post(USERS, json={"email": "Ada@Example.com", "name": "Ada Lovelace"})

    assert response.status_code == 201
    user = response.json()
    assert response.headers["location"] == f"{USERS}/{user['id']}"
    assert response.headers["etag"].startswith('"')
    assert parsedate_to_datetime(response.headers["last-modified"])
    assert user["email"] == "ada@example.com"  # stored lower-cased
    assert user["role"] == "user"
    assert user["active"] is True
    assert set(user) == {"id", "email", "name", "role", "active", "created_at", "updated_at"}
    fetched = api.get(response.headers["location"])
    assert fetched.json() == user
    assert fetched.headers["etag"] == response.headers["etag"]


def test_a_taken_email_is_409_whatever_its_case(api: TestClient) -> None:
    create(api, "grace@example.com")
    response = api.post(USERS, json={"email": "GRACE@example.com", "name": "Another"})
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "A user with this email already exists."


def test_unknown_and_read_only_fields_cannot_be_written(api: TestClient) -> None:
    response = api.post(USERS, json={"email": "x@example.com", "name": "X", "password_hash": "x", "id": "nope"})
    assert response.status_code == 422
    pointers = {error.get("pointer") for error in response.json()["errors"]}
    assert pointers == {"#/password_hash", "#/id"}
    assert api.get(f"{USERS}?role=user").json()["items"] == []


def test_json_scalars_are_strict(api: TestClient) -> None:
    response = api.post(USERS, json={"email": "x@example.com", "name": "X", "active": 0})
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "#/active"


def test_pages_walk_every_user_once_in_a_stable_order(api: TestClient) -> None:
    emails = {create(api, f"user{i}@example.com", name="Same Name")["email"] for i in range(7)}
    seen: list[str] = []
    url: str | None = f"{USERS}?limit=3&sort=-name&role=user"  # role=user: not the bootstrap admin
    pages = 0
    while url:
        response = api.get(url)
        assert response.status_code == 200
        page = response.json()
        seen += [user["email"] for user in page["items"]]
        url = page["next"]
        if url:
            assert response.headers["link"] == f'<{url}>; rel="next"'
        pages += 1
    assert pages == 3
    assert sorted(seen) == sorted(emails)
    assert len(seen) == len(set(seen))  # ties on name are broken by id: nothing repeated, nothing skipped


def test_sort_and_filters(api: TestClient) -> None:
    create(api, "b@example.com", name="Bob")
    create(api, "a@example.com", name="Alice")
    create(api, "c@example.com", name="Carol", active=False)

    by_email = [u["email"] for u in api.get(f"{USERS}?sort=-email&role=user").json()["items"]]
    assert by_email == ["c@example.com", "b@example.com", "a@example.com"]
    assert [u["name"] for u in api.get(f"{USERS}?active=false").json()["items"]] == ["Carol"]
    assert [u["name"] for u in api.get(f"{USERS}?q=ALI").json()["items"]] == ["Alice"]
    assert api.get(f"{USERS}?q=%25").json()["items"] == []  # '%' is literal, not a wildcard
    assert len(api.get(f"{USERS}?role=user").json()["items"]) == 3
    assert [u["email"] for u in api.get(f"{USERS}?role=admin").json()["items"]] == [ADMIN_EMAIL]
    assert len(api.get(f"{USERS}?created_after=2000-01-01T00:00:00Z&role=user").json()["items"]) == 3
    assert api.get(f"{USERS}?created_before=2000-01-01T00:00:00Z").json()["items"] == []


def test_invalid_list_parameters_are_422_naming_the_parameter(api: TestClient) -> None:
    for query, parameter in [
        ("limit=101", "limit"),
        ("limit=0", "limit"),
        ("sort=password", "sort"),
        ("cursor=bm9wZQ", "cursor"),
        ("created_after=1700000000", "created_after"),
        ("active=yes", "active"),
    ]:
        response = api.get(f"{USERS}?{query}")
        assert response.status_code == 422, query
        assert {e.get("parameter") for e in response.json()["errors"]} == {parameter}, query


def test_a_cursor_only_works_with_its_own_sort(api: TestClient) -> None:
    for i in range(3):
        create(api, f"s{i}@example.com")
    next_url = api.get(f"{USERS}?limit=1&sort=email").json()["next"]
    cursor = next_url.split("cursor=")[1]
    assert api.get(f"{USERS}?limit=1&sort=name&cursor={cursor}").status_code == 422


def test_conditional_get_and_head(api: TestClient) -> None:
    user = create(api, "cond@example.com")
    url = f"{USERS}/{user['id']}"
    first = api.get(url)
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]

    not_modified = api.get(url, headers={"If-None-Match": etag})
    assert not_modified.status_code == 304
    assert not_modified.content == b""
    assert not_modified.headers["etag"] == etag
    assert api.get(url, headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    assert api.get(url, headers={"If-None-Match": '"stale"'}).status_code == 200
    assert api.get(url, headers={"If-Modified-Since": last_modified}).status_code == 304
    earlier = format_datetime(parsedate_to_datetime(last_modified) - timedelta(seconds=1), usegmt=True)
    assert api.get(url, headers={"If-Modified-Since": earlier}).status_code == 200
    assert api.get(url, headers={"If-Modified-Since": "not a date"}).status_code == 200  # ignored
    # If-None-Match wins over If-Modified-Since.
    assert api.get(url, headers={"If-None-Match": '"stale"', "If-Modified-Since": last_modified}).status_code == 200

    head = api.head(url)
    assert head.status_code == 200
    assert head.content == b""
    assert (head.headers["etag"], head.headers["last-modified"]) == (etag, last_modified)
    assert head.headers["content-length"] == first.headers["content-length"] == str(len(first.content))
    assert api.head(url, headers={"If-None-Match": etag}).status_code == 304


def test_every_change_moves_last_modified_so_if_modified_since_never_misses_one(api: TestClient) -> None:
    # Changes faster than HTTP-dates' one-second steps: each still gets a later Last-Modified, so a cache that
    # revalidates by date alone (no ETag) is told of every change, never answered 304 with stale data.
    url = f"{USERS}/{create(api, 'quick@example.com')['id']}"
    dates = [api.get(url).headers["last-modified"]]
    for n in range(3):
        changed = api.patch(url, json={"name": f"Quick {n}"})
        assert changed.status_code == 200
        assert changed.headers["last-modified"] != dates[-1]
        assert api.get(url, headers={"If-Modified-Since": dates[-1]}).status_code == 200
        dates.append(changed.headers["last-modified"])
    assert [parsedate_to_datetime(date) for date in dates] == sorted({parsedate_to_datetime(d) for d in dates})
    assert api.get(url, headers={"If-Modified-Since": dates[-1]}).status_code == 304


def test_put_replaces_and_patch_merges(api: TestClient) -> None:
    user = create(api, "put@example.com")
    url = f"{USERS}/{user['id']}"

    replaced = api.put(url, json={"email": "put2@example.com", "name": "Replaced", "active": False})
    assert replaced.status_code == 200
    assert (replaced.json()["email"], replaced.json()["name"], replaced.json()["active"]) == (
        "put2@example.com",
        "Replaced",
        False,
    )
    assert replaced.headers["etag"] != api.head(url, headers={"If-None-Match": "x"}).headers.get("x-none", "")
    partial = {"name": "Patched"}
    patched = api.patch(url, json=partial, headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["email"], patched.json()["active"]) == (
        "Patched",
        "put2@example.com",
        False,
    )
    assert api.get(url).json() == patched.json()


def test_put_needs_every_field_and_patch_takes_a_merge_patch_as_json(api: TestClient) -> None:
    url = f"{USERS}/{create(api, 'strict@example.com')['id']}"
    assert api.put(url, json={"name": "Only"}).status_code == 422
    # The spec declares both media types (what openapi-fetch sends by default, and what Prism accepts): one meaning.
    as_json = api.patch(url, json={"name": "Plain JSON"})
    assert as_json.status_code == 200
    assert as_json.json()["name"] == "Plain JSON"
    assert api.patch(url, content=b'{"name": "X"}', headers={"Content-Type": "text/plain"}).status_code == 415
    assert api.patch(url, json={"name": "Ada Lovelace"}).status_code == 200
    merge = {"Content-Type": "application/merge-patch+json"}
    assert api.patch(url, content=b"{}", headers=merge).status_code == 422
    null_name = api.patch(url, content=b'{"name": null}', headers=merge)
    assert null_name.status_code == 422
    assert null_name.json()["errors"] == [{"detail": "Input should not be null", "pointer": "#/name"}]
    assert api.get(url).json()["name"] == "Ada Lovelace"


def test_if_match_guards_every_change(api: TestClient) -> None:
    url = f"{USERS}/{create(api, 'guard@example.com')['id']}"
    etag = api.get(url).headers["etag"]
    merge = {"Content-Type": "application/merge-patch+json"}

    changed = api.patch(url, json={"name": "First"}, headers={**merge, "If-Match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag

    stale = api.patch(url, json={"name": "Second"}, headers={**merge, "If-Match": etag})
    assert stale.status_code == 412
    stale_put = api.put(url, json={"email": "g@example.com", "name": "S", "active": True}, headers={"If-Match": etag})
    assert stale_put.status_code == 412
    assert api.delete(url, headers={"If-Match": etag}).status_code == 412
    assert api.get(url).json()["name"] == "First"  # nothing changed by the refused requests

    assert api.patch(url, json={"name": "Third"}, headers={**merge, "If-Match": "*"}).status_code == 200
    current = api.get(url).headers["etag"]
    assert api.delete(url, headers={"If-Match": current}).status_code == 204


def test_delete_then_everything_is_404(api: TestClient) -> None:
    url = f"{USERS}/{create(api, 'gone@example.com')['id']}"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404
    assert api.head(url).status_code == 404
    assert api.options(url).status_code == 404
    assert api.delete(url).status_code == 404
    merge = {"Content-Type": "application/merge-patch+json"}
    assert api.patch(url, json={"name": "X"}, headers=merge).status_code == 404
    assert api.get(url).json()["title"] == "Not Found"


def test_options_lists_the_same_methods_as_405(api: TestClient) -> None:
    url = f"{USERS}/{create(api, 'opt@example.com')['id']}"
    options = api.options(url)
    assert options.status_code == 204
    not_allowed = api.post(url, json={})
    assert not_allowed.status_code == 405
    assert options.headers["allow"] == not_allowed.headers["allow"] == "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"


def test_a_malformed_id_is_422_and_an_unknown_one_404(api: TestClient) -> None:
    assert api.get(f"{USERS}/not-a-uuid").status_code == 422
    assert api.get(f"{USERS}/00000000-0000-4000-8000-000000000000").status_code == 404


def test_a_users_representation_is_kept_privately_and_revalidated(api: TestClient) -> None:
    user = create(api, "cached-privately@example.com")
    response = api.get(f"{USERS}/{user['id']}")
    # Personal data: never in a shared cache; the client revalidates with If-None-Match before each use.
    assert response.headers["cache-control"] == "private, no-cache"
    assert api.get(f"{USERS}?limit=1").headers["cache-control"] == "no-store"  # no validator: not kept at all


def test_a_422_for_a_parameter_names_the_invalid_headers_too(api: TestClient) -> None:
    # FastAPI refuses the path parameter before the route reads its headers; the error handler adds them.
    response = api.get(f"{USERS}/not-a-uuid", headers={"If-None-Match": "x" * 1025})

    assert response.status_code == 422
    located = {(key, value) for error in response.json()["errors"] for key, value in error.items() if key != "detail"}
    assert located == {("parameter", "user_id"), ("header", "If-None-Match")}
