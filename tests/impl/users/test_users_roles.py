"""Who may change what on users, on SQLite and PostgreSQL: only admins change roles, and an admin always remains."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ADMIN_EMAIL, bearer, sign_in

USERS = "/api/v1/users"
PASSWORD = "a long enough passphrase for tests"  # nosec B105


def create(api: TestClient, email: str, role: str = "user") -> dict[str, Any]:
    response = api.post(USERS, json={"email": email, "name": "Someone", "role": role, "password": PASSWORD})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def admin_id(api: TestClient) -> str:
    (admin,) = api.get(f"{USERS}?role=admin").json()["items"]
    assert admin["email"] == ADMIN_EMAIL
    user_id: str = admin["id"]
    return user_id


def test_an_admin_creates_users_with_a_role_and_a_password_they_can_sign_in_with(api: TestClient) -> None:
    moderator = create(api, "mod@example.com", role="moderator")
    assert moderator["role"] == "moderator"
    token = sign_in(api, "mod@example.com", PASSWORD)
    me = api.get("/api/v1/auth/me", headers=bearer(token)).json()
    assert (me["id"], me["role"]) == (moderator["id"], "moderator")


def test_an_admin_set_password_follows_the_password_rules(api: TestClient) -> None:
    response = api.post(USERS, json={"email": "weak@example.com", "name": "Weak", "password": "passwordpassword"})
    assert response.status_code == 422
    assert {error["pointer"] for error in response.json()["errors"]} == {"#/password"}
    assert api.get(f"{USERS}?q=weak").json()["items"] == []


def test_a_user_cannot_change_their_own_role(api: TestClient) -> None:
    user = create(api, "climber@example.com")
    own = bearer(sign_in(api, "climber@example.com", PASSWORD))
    url = f"{USERS}/{user['id']}"

    patched = api.patch(url, json={"role": "admin"}, headers={**own, "Content-Type": "application/merge-patch+json"})
    replaced = api.put(url, json={"email": user["email"], "name": "X", "active": True, "role": "admin"}, headers=own)

    assert (patched.status_code, replaced.status_code) == (403, 403)
    assert api.get(url).json()["role"] == "user"  # unchanged, as read by the admin
    # Sending the role they already have is not a change, so it is allowed.
    same = api.put(url, json={"email": user["email"], "name": "Y", "active": True, "role": "user"}, headers=own)
    assert same.status_code == 200


def test_an_admin_changes_roles(api: TestClient) -> None:
    user = create(api, "promoted@example.com")
    response = api.patch(
        f"{USERS}/{user['id']}", json={"role": "moderator"}, headers={"Content-Type": "application/merge-patch+json"}
    )
    assert response.status_code == 200
    assert response.json()["role"] == "moderator"


def test_no_admin_demotes_deactivates_or_deletes_themselves_not_even_with_another_admin(api: TestClient) -> None:
    url = f"{USERS}/{admin_id(api)}"
    merge = {"Content-Type": "application/merge-patch+json"}

    for attempt in range(2):
        assert api.patch(url, json={"role": "user"}, headers=merge).status_code == 403
        assert api.patch(url, json={"active": False}, headers=merge).status_code == 403
        assert api.delete(url).status_code == 403
        assert api.get(url).json()["role"] == "admin"
        if attempt == 0:  # a second admin changes nothing: it is someone else's decision
            create(api, "second-admin@example.com", role="admin")

    # The other admin may demote the first (whose sessions end with it).
    second = bearer(sign_in(api, "second-admin@example.com", PASSWORD))
    assert api.patch(url, json={"role": "user"}, headers={**merge, **second}).status_code == 200


def test_optional_members_may_be_omitted_but_never_null(api: TestClient) -> None:
    user = create(api, "nulls@example.com")
    url = f"{USERS}/{user['id']}"
    replaced = api.put(url, json={"email": user["email"], "name": "N", "active": True, "role": None})
    created = api.post(USERS, json={"email": "other-nulls@example.com", "name": "N", "password": None})

    assert (replaced.status_code, created.status_code) == (422, 422)
    assert [e["pointer"] for e in replaced.json()["errors"]] == ["#/role"]
    assert [e["pointer"] for e in created.json()["errors"]] == ["#/password"]
    assert api.get(url).json()["name"] == "Someone"
