"""Authorization follows the account as it is now, not as its access token remembers it (SQLite and PostgreSQL).

A token proves who the caller is; what they may do is read from the account on every request: a demotion,
a deactivation or a deletion counts from the next request, whatever the token's role claim or lifetime says.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from impl.app import create_app
from impl.platform.settings import Settings
from tests.conftest import bearer, test_settings
from tests.impl.auth.conftest import (
    AUTH,
    MERGE_PATCH,
    PASSWORD,
    USERS,
    admin_headers,
    login,
    me,
    refresh,
    run_sql,
    tokens,
)

FILES = "/api/v1/files"


def new_account(client: TestClient, *, role: str = "user") -> tuple[str, str]:
    """An account the admin creates with a password (any role); its id and email."""
    email = f"a{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "name": "Quentin Reader", "password": PASSWORD, "role": role}
    response = client.post(USERS, json=body, headers=admin_headers(client))
    assert response.status_code == 201, response.text
    return response.json()["id"], email


def admin_patch(client: TestClient, user_id: str, **members: Any) -> None:
    headers = {**admin_headers(client), **MERGE_PATCH, "If-Match": "*"}
    response = client.patch(f"{USERS}/{user_id}", json=members, headers=headers)
    assert response.status_code == 200, response.text


def test_a_demoted_admin_cannot_mint_an_admin_with_the_old_token(anon: TestClient) -> None:
    demoted_id, email = new_account(anon, role="admin")
    old = tokens(anon, email)["access_token"]
    assert anon.get(USERS, headers=bearer(old)).status_code == 200

    admin_patch(anon, demoted_id, role="user")

    body = {"email": f"x{uuid.uuid4().hex[:8]}@example.com", "name": "Mallory", "role": "admin", "password": PASSWORD}
    # A role change ends the account's sessions: the old token is refused outright.
    assert anon.post(USERS, json=body, headers=bearer(old)).status_code == 401
    # Signed in again, they are what they are now.
    now = tokens(anon, email)["access_token"]
    assert me(anon, now).json()["role"] == "user"
    assert anon.post(USERS, json=body, headers=bearer(now)).status_code == 403


def test_a_demoted_moderator_loses_the_listing_and_the_export(anon: TestClient) -> None:
    moderator_id, email = new_account(anon, role="moderator")
    old = tokens(anon, email)["access_token"]
    assert anon.get(USERS, headers=bearer(old)).status_code == 200

    admin_patch(anon, moderator_id, role="user")

    now = tokens(anon, email)["access_token"]
    for token, status in ((old, 401), (now, 403)):
        assert anon.get(USERS, headers=bearer(token)).status_code == status
        assert anon.get(f"{USERS}/export", headers=bearer(token)).status_code == status


def test_the_role_claim_of_a_token_is_not_the_authority(anon: TestClient, database_url: str) -> None:
    """The role is read from the account, not the token: here changed behind the service's back (by hand in the
    database, so no session ends) before the token's first use."""
    _, email = new_account(anon, role="admin")
    old = tokens(anon, email)["access_token"]
    run_sql(database_url, "UPDATE users SET role = 'user' WHERE email = :email", email=email)

    assert anon.get(USERS, headers=bearer(old)).status_code == 403
    assert me(anon, old).json()["role"] == "user"


def test_a_deactivated_user_cannot_reactivate_themselves_or_sign_in(anon: TestClient) -> None:
    user_id, email = new_account(anon)
    old = tokens(anon, email)["access_token"]

    admin_patch(anon, user_id, active=False)

    attempt = anon.patch(
        f"{USERS}/{user_id}", json={"active": True}, headers={**bearer(old), **MERGE_PATCH, "If-Match": "*"}
    )
    assert attempt.status_code == 401
    assert me(anon, old).status_code == 401
    assert login(anon, email).status_code == 401
    listed = anon.get(f"{USERS}/{user_id}", headers=admin_headers(anon)).json()
    assert listed["active"] is False


def test_a_deactivated_account_is_refused_at_once_and_its_refresh_token_too(anon: TestClient) -> None:
    user_id, email = new_account(anon)
    pair = tokens(anon, email)
    assert me(anon, pair["access_token"]).status_code == 200

    admin_patch(anon, user_id, active=False)

    assert me(anon, pair["access_token"]).status_code == 401
    assert refresh(anon, pair["refresh_token"]).status_code == 401
    # Reactivated, the account signs in again; the old session stays ended.
    admin_patch(anon, user_id, active=True)
    assert login(anon, email).status_code == 200


def test_a_deleted_user_can_neither_upload_nor_read(anon: TestClient) -> None:
    user_id, email = new_account(anon)
    old = tokens(anon, email)["access_token"]

    deleted = anon.delete(f"{USERS}/{user_id}", headers={**admin_headers(anon), "If-Match": "*"})
    assert deleted.status_code == 204

    upload = anon.post(FILES, headers=bearer(old), files={"file": ("notes.txt", b"hello", "text/plain")})
    assert upload.status_code == 401
    assert anon.get(FILES, headers=bearer(old)).status_code == 401
    assert me(anon, old).status_code == 401


def test_nobody_changes_their_own_role_or_active_flag(anon: TestClient) -> None:
    admin_id, email = new_account(anon, role="admin")
    own = {**bearer(tokens(anon, email)["access_token"]), **MERGE_PATCH, "If-Match": "*"}

    for members in ({"role": "user"}, {"active": False}):
        response = anon.patch(f"{USERS}/{admin_id}", json=members, headers=own)
        assert response.status_code == 403, (members, response.text)
    body = {"email": email, "name": "Quentin Reader", "active": False}
    assert (
        anon.put(f"{USERS}/{admin_id}", json=body, headers={**own, "Content-Type": "application/json"}).status_code
        == 403
    )
    record = anon.get(f"{USERS}/{admin_id}", headers=admin_headers(anon)).json()
    assert (record["role"], record["active"]) == ("admin", True)


def test_changing_ones_own_email_through_the_users_api_needs_the_current_password(anon: TestClient) -> None:
    user_id, email = new_account(anon)
    own = {**bearer(tokens(anon, email)["access_token"]), **MERGE_PATCH, "If-Match": "*"}
    new_email = f"n{uuid.uuid4().hex[:10]}@example.com"

    here = anon.patch(f"{USERS}/{user_id}", json={"email": new_email}, headers=own)
    assert here.status_code == 422
    assert {error.get("pointer") for error in here.json()["errors"]} == {"#/email"}
    assert login(anon, email).status_code == 200  # unchanged

    # The one path that changes one's own email is /auth/me, with the password.
    without = anon.patch(f"{AUTH}/me", json={"email": new_email}, headers=own)
    assert without.status_code == 422
    changed = anon.patch(
        f"{AUTH}/me", json={"email": new_email, "current_password": PASSWORD}, headers={**own, "If-Match": "*"}
    )
    assert changed.status_code == 200, changed.text
    assert login(anon, new_email).status_code == 200


def test_the_taken_email_answer_is_rate_limited_with_the_auth_policy(tmp_path: Path, database_url: str) -> None:
    settings = test_settings(tmp_path / "data", database_url=database_url, rate_limit_enabled=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        admin = admin_headers(client)
        taken = [f"t{attempt}{uuid.uuid4().hex[:8]}@example.com" for attempt in range(7)]
        for address in taken:
            assert client.post(USERS, json={"email": address, "name": "Taken"}, headers=admin).status_code == 201
        email = f"p{uuid.uuid4().hex[:10]}@example.com"
        body = {"email": email, "name": "Quentin Reader", "password": PASSWORD}
        assert client.post(USERS, json=body, headers=admin).status_code == 201
        own = {**bearer(tokens(client, email)["access_token"]), **MERGE_PATCH}

        answers = [
            client.patch(f"{AUTH}/me", json={"email": address, "current_password": PASSWORD}, headers=own).status_code
            for address in taken
        ]
        # The auth policy's 5 per window, counted per user: probing for registered emails stops after a handful.
        assert answers == [409] * 5 + [429, 429]


def test_deleting_a_user_deletes_their_files_rows_and_bytes(
    anon: TestClient, auth_settings: Settings, database_url: str
) -> None:
    user_id, email = new_account(anon)
    theirs = bearer(tokens(anon, email)["access_token"])
    for name in ("one.txt", "two.txt"):
        upload = anon.post(FILES, headers=theirs, files={"file": (name, b"private words", "text/plain")})
        assert upload.status_code == 201, upload.text
    store = auth_settings.data_dir / "files"
    assert len([path for path in store.rglob("*") if path.is_file()]) == 2

    deleted = anon.delete(f"{USERS}/{user_id}", headers={**admin_headers(anon), "If-Match": "*"})

    assert deleted.status_code == 204
    assert run_sql(database_url, "SELECT count(*) FROM files")[0][0] == 0  # theirs were the only ones
    assert [path for path in store.rglob("*") if path.is_file()] == []
