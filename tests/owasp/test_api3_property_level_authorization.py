"""API3:2023 Broken Object Property Level Authorization — no mass assignment, no secret in any answer.

Request models forbid unknown members, only admins change `role`, and neither the password nor its hash ever
appears in a response. Runs on both databases.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient
from httpx2 import Response

from tests.conftest import bearer
from tests.owasp.conftest import AUTH, MERGE_PATCH, PASSWORD, USERS, make_account, unique_email

SECRET_MEMBERS = {"password", "password_hash", "hash", "current_password", "new_password"}


def _members(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {name for item in value.values() for name in _members(item)}
    if isinstance(value, list):
        return {name for item in value for name in _members(item)}
    return set()


def _role(client: TestClient, admin_token: str, user_id: str) -> str:
    role: str = client.get(f"{USERS}/{user_id}", headers=bearer(admin_token)).json()["role"]
    return role


def test_a_user_cannot_make_themselves_admin(db_client: TestClient, db_admin: str) -> None:
    user = make_account(db_client, db_admin)
    own = f"{USERS}/{user.id}"

    via_me = db_client.patch(f"{AUTH}/me", json={"role": "admin"}, headers={**user.headers, **MERGE_PATCH})
    via_patch = db_client.patch(own, json={"role": "admin"}, headers={**user.headers, **MERGE_PATCH})
    via_put = db_client.put(
        own, json={"email": user.email, "name": "Olive Tester", "active": True, "role": "admin"}, headers=user.headers
    )

    assert via_me.status_code == 422, via_me.text
    assert via_patch.status_code == 403, via_patch.text
    assert via_put.status_code == 403, via_put.text
    assert _role(db_client, db_admin, user.id) == "user"
    assert db_client.get(f"{USERS}", headers=user.headers).status_code == 403, "the role in the token changed"


def test_a_moderator_cannot_promote_themselves(db_client: TestClient, db_admin: str) -> None:
    moderator = make_account(db_client, db_admin, role="moderator")

    response = db_client.patch(
        f"{USERS}/{moderator.id}", json={"role": "admin"}, headers={**moderator.headers, **MERGE_PATCH}
    )

    assert response.status_code == 403
    assert _role(db_client, db_admin, moderator.id) == "moderator"


def test_no_response_carries_a_password_or_its_hash(db_client: TestClient, db_admin: str) -> None:
    email = unique_email()
    admin = bearer(db_admin)
    responses: list[Response] = [
        db_client.post(f"{AUTH}/register", json={"email": email, "name": "Olive Tester", "password": PASSWORD})
    ]
    login = db_client.post(f"{AUTH}/login", json={"email": email, "password": PASSWORD})
    token = login.json()["access_token"]
    created = db_client.post(
        USERS, json={"email": unique_email(), "name": "Made By Admin", "password": PASSWORD}, headers=admin
    )
    responses += [
        login,
        db_client.post(f"{AUTH}/token", data={"grant_type": "password", "username": email, "password": PASSWORD}),
        db_client.post(f"{AUTH}/refresh", json={"refresh_token": login.json()["refresh_token"]}),
        db_client.get(f"{AUTH}/me", headers=bearer(token)),
        db_client.patch(f"{AUTH}/me", json={"name": "Olive Renamed"}, headers={**bearer(token), **MERGE_PATCH}),
        created,
        db_client.get(USERS, headers=admin),
        db_client.get(f"{USERS}/{created.json()['id']}", headers=admin),
        db_client.patch(f"{USERS}/{created.json()['id']}", json={"name": "Renamed"}, headers={**admin, **MERGE_PATCH}),
        # Errors too: a rejected password must not be echoed back.
        db_client.post(f"{AUTH}/register", json={"email": unique_email(), "name": "Short", "password": "short"}),
        db_client.post(f"{AUTH}/login", json={"email": email, "password": "the wrong password here"}),
    ]

    assert all(response.status_code < 500 for response in responses)
    for response in responses:
        where = f"{response.request.method} {response.request.url.path} → {response.status_code}"
        assert PASSWORD not in response.text, where
        assert "$argon2" not in response.text, where
        assert not (_members(response.json()) & SECRET_MEMBERS), where


def test_unknown_members_are_refused(db_client: TestClient, db_admin: str) -> None:
    user = make_account(db_client, db_admin)
    extra = {"is_admin": True}
    attempts = {
        "register": db_client.post(
            f"{AUTH}/register", json={"email": unique_email(), "name": "Olive", "password": PASSWORD, **extra}
        ),
        "login": db_client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD, **extra}),
        "updateMe": db_client.patch(
            f"{AUTH}/me", content=json.dumps({"name": "Olive", **extra}), headers={**user.headers, **MERGE_PATCH}
        ),
        "createUser": db_client.post(
            USERS, json={"email": unique_email(), "name": "Olive", **extra}, headers=bearer(db_admin)
        ),
        "updateUser": db_client.patch(
            f"{USERS}/{user.id}",
            content=json.dumps({"name": "Olive", **extra}),
            headers={**user.headers, **MERGE_PATCH},
        ),
        "replaceUser": db_client.put(
            f"{USERS}/{user.id}",
            json={"email": user.email, "name": "Olive", "active": True, **extra},
            headers=user.headers,
        ),
    }

    for operation, response in attempts.items():
        assert response.status_code == 422, f"{operation}: {response.status_code} {response.text}"
        pointers = [error.get("pointer") for error in response.json().get("errors", [])]
        assert "#/is_admin" in pointers, f"{operation}: {pointers}"
