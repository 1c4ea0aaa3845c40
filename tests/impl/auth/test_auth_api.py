"""The auth operations over HTTP, on SQLite and PostgreSQL: registration, sign-in, logout, own profile, password."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from impl.app import create_app
from impl.auth.passwords import PasswordHasher
from impl.platform.settings import Settings
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.impl.auth.conftest import (
    AUTH,
    MERGE_PATCH,
    NEW_PASSWORD,
    PASSWORD,
    Member,
    login,
    me,
    refresh,
    register,
    run_sql,
    set_active,
    tokens,
)

ACCEPTED = {
    "status": "accepted",
    "detail": "If this email can be registered, the account now exists; sign in to continue.",
}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def pointers(response: Any) -> set[str]:
    return {error.get("pointer") for error in response.json().get("errors", [])}


def stored_hash(database_url: str, email: str) -> str:
    rows = run_sql(database_url, "SELECT password_hash FROM users WHERE email = :email", email=email)
    value: str = rows[0][0]
    return value


# --- register ---------------------------------------------------------------------------------------------------
def test_register_answers_the_same_202_for_a_new_and_a_taken_email(anon: TestClient) -> None:
    first = register(anon, "newcomer@example.com")
    again = register(anon, "NEWCOMER@example.com", name="Someone Else", password=NEW_PASSWORD)

    assert first.status_code == again.status_code == 202
    assert first.json() == again.json() == ACCEPTED
    assert login(anon, "newcomer@example.com").status_code == 200
    assert login(anon, "newcomer@example.com", NEW_PASSWORD).status_code == 401  # the taken email kept its password


def test_register_refuses_a_password_breaking_the_rules_and_creates_nothing(
    anon: TestClient, database_url: str
) -> None:
    response = register(anon, "marigold@example.com", password="marigold is my secret passphrase")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert pointers(response) == {"#/password"}
    assert "marigold is my" not in response.text  # never echoed
    assert run_sql(database_url, "SELECT id FROM users WHERE email = 'marigold@example.com'") == []


@pytest.mark.parametrize(
    ("password", "detail"),
    [
        ("too short", "String should have at least 15 characters"),
        ("x" * 257, "String should have at most 256 characters"),
    ],
)
def test_a_password_of_the_wrong_length_is_explained_in_characters(
    anon: TestClient, password: str, detail: str
) -> None:
    response = register(anon, "lengthy@example.com", password=password)

    assert response.status_code == 422
    assert response.json()["errors"] == [{"detail": detail, "pointer": "#/password"}]


def test_register_refuses_a_common_password(anon: TestClient) -> None:
    response = register(anon, "common@example.com", password="passwordpassword")
    assert response.status_code == 422
    assert pointers(response) == {"#/password"}


def test_register_refuses_unknown_fields(anon: TestClient, database_url: str) -> None:
    response = anon.post(
        f"{AUTH}/register",
        json={"email": "sneaky@example.com", "name": "Sneaky", "password": PASSWORD, "role": "admin"},
    )
    assert response.status_code == 422
    assert pointers(response) == {"#/role"}
    assert run_sql(database_url, "SELECT id FROM users WHERE email = 'sneaky@example.com'") == []


# --- login and the OAuth2 token form ------------------------------------------------------------------------------
def test_the_token_form_gives_a_token_pair_whose_access_token_works(anon: TestClient, member: Member) -> None:
    response = anon.post(
        f"{AUTH}/token",
        data={"grant_type": "password", "username": member.email, "password": member.password},
    )

    assert response.status_code == 200, response.text
    pair = response.json()
    assert set(pair) == {"access_token", "refresh_token", "token_type", "expires_in", "refresh_expires_in"}
    assert pair["token_type"] == "Bearer"
    assert pair["expires_in"] == 900
    assert pair["refresh_expires_in"] == 604800
    own = me(anon, pair["access_token"])
    assert own.status_code == 200
    assert own.json()["email"] == member.email
    assert own.json()["role"] == "user"


def test_the_json_login_gives_the_same_shape(anon: TestClient, member: Member) -> None:
    pair = tokens(anon, member.email)
    assert pair["token_type"] == "Bearer"
    assert (pair["expires_in"], pair["refresh_expires_in"]) == (900, 604800)
    assert me(anon, pair["access_token"]).status_code == 200


def test_wrong_password_unknown_email_and_deactivated_account_get_one_answer(anon: TestClient, member: Member) -> None:
    victim = me(anon, tokens(anon, member.email)["access_token"]).json()
    wrong = login(anon, member.email, NEW_PASSWORD)
    unknown = login(anon, "nobody-here@example.com")
    set_active(anon, victim["id"], active=False)
    deactivated = login(anon, member.email)

    for response in (wrong, unknown, deactivated):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == 'Bearer realm="charter"'
        assert response.headers["content-type"] == "application/problem+json"
    assert wrong.json() == unknown.json() == deactivated.json()


def test_the_token_form_fails_the_same_way(anon: TestClient, member: Member) -> None:
    def form(username: str, password: str) -> Any:
        return anon.post(f"{AUTH}/token", data={"grant_type": "password", "username": username, "password": password})

    wrong, unknown = form(member.email, NEW_PASSWORD), form("nobody-here@example.com", PASSWORD)
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert wrong.headers["www-authenticate"] == unknown.headers["www-authenticate"]


def test_the_token_endpoint_takes_only_the_form(anon: TestClient, member: Member) -> None:
    response = anon.post(
        f"{AUTH}/token", json={"grant_type": "password", "username": member.email, "password": member.password}
    )
    assert response.status_code == 415


def test_the_token_endpoint_takes_only_the_password_grant(anon: TestClient, member: Member) -> None:
    response = anon.post(
        f"{AUTH}/token",
        data={"grant_type": "client_credentials", "username": member.email, "password": member.password},
        headers=FORM,
    )
    assert response.status_code == 422
    assert pointers(response) == {"#/grant_type"}


def test_a_weaker_hash_is_upgraded_at_sign_in(
    anon: TestClient, member: Member, database_url: str, auth_settings: Settings
) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    weak_hash = asyncio.run(weak.hash(member.password))
    assert weak.needs_rehash(weak_hash) is False  # the premise: made with exactly those parameters
    run_sql(database_url, "UPDATE users SET password_hash = :h WHERE email = :e", h=weak_hash, e=member.email)

    assert login(anon, member.email).status_code == 200

    upgraded = stored_hash(database_url, member.email)
    # The service's configured profile (tests run at OWASP's floor; production at argon2-cffi's RFC 9106 default).
    configured = auth_settings
    parameters = (
        f"m={configured.password_hash_memory_kib},t={configured.password_hash_iterations},"
        f"p={configured.password_hash_parallelism}"
    )
    assert upgraded.startswith(f"$argon2id$v=19${parameters}$")
    assert upgraded != weak_hash
    assert login(anon, member.email).status_code == 200


# --- logout ---------------------------------------------------------------------------------------------------------
def test_logout_ends_this_session_only(anon: TestClient, member: Member) -> None:
    this, other = tokens(anon, member.email), tokens(anon, member.email)
    user_id = me(anon, this["access_token"]).json()["id"]

    assert anon.post(f"{AUTH}/logout", headers=bearer(this["access_token"])).status_code == 204

    assert me(anon, this["access_token"]).status_code == 401
    assert anon.get(f"/api/v1/users/{user_id}", headers=bearer(this["access_token"])).status_code == 401
    assert anon.post(f"{AUTH}/logout", headers=bearer(this["access_token"])).status_code == 401
    assert refresh(anon, this["refresh_token"]).status_code == 401
    assert me(anon, other["access_token"]).status_code == 200
    assert refresh(anon, other["refresh_token"]).status_code == 200


# --- own profile ----------------------------------------------------------------------------------------------------
def test_me_is_the_signed_in_user_without_secrets(anon: TestClient, member: Member) -> None:
    response = me(anon, tokens(anon, member.email)["access_token"])
    assert response.status_code == 200
    user = response.json()
    assert (user["email"], user["name"], user["role"], user["active"]) == (member.email, member.name, "user", True)
    assert "password" not in response.text


def test_the_name_can_be_changed_with_a_merge_patch(anon: TestClient, member: Member) -> None:
    access = tokens(anon, member.email)["access_token"]
    response = anon.patch(f"{AUTH}/me", json={"name": "Renamed Person"}, headers={**bearer(access), **MERGE_PATCH})
    assert response.status_code == 200, response.text
    assert response.json()["name"] == "Renamed Person"
    assert me(anon, access).json()["name"] == "Renamed Person"


def test_an_email_change_needs_the_current_password(anon: TestClient, member: Member) -> None:
    headers = {**bearer(tokens(anon, member.email)["access_token"]), **MERGE_PATCH}
    new_email = "moved-away@example.com"

    missing = anon.patch(f"{AUTH}/me", json={"email": new_email}, headers=headers)
    assert missing.status_code == 422
    assert pointers(missing) == {"#/current_password"}

    wrong = anon.patch(f"{AUTH}/me", json={"email": new_email, "current_password": NEW_PASSWORD}, headers=headers)
    assert wrong.status_code == 403
    assert login(anon, new_email).status_code == 401

    right = anon.patch(f"{AUTH}/me", json={"email": new_email, "current_password": PASSWORD}, headers=headers)
    assert right.status_code == 200, right.text
    assert right.json()["email"] == new_email
    assert login(anon, new_email).status_code == 200
    assert login(anon, member.email).status_code == 401


def test_the_role_cannot_be_patched(anon: TestClient, member: Member) -> None:
    access = tokens(anon, member.email)["access_token"]
    response = anon.patch(f"{AUTH}/me", json={"role": "admin"}, headers={**bearer(access), **MERGE_PATCH})
    assert response.status_code == 422
    assert me(anon, access).json()["role"] == "user"


def test_null_is_no_profile(anon: TestClient, member: Member) -> None:
    headers = {**bearer(tokens(anon, member.email)["access_token"]), **MERGE_PATCH}
    assert anon.patch(f"{AUTH}/me", content=b"null", headers=headers).status_code == 422
    named_null = anon.patch(f"{AUTH}/me", json={"name": None}, headers=headers)
    assert named_null.status_code == 422
    assert pointers(named_null) == {"#/name"}


def test_an_empty_profile_patch_is_422(anon: TestClient, member: Member) -> None:
    headers = {**bearer(tokens(anon, member.email)["access_token"]), **MERGE_PATCH}
    response = anon.patch(f"{AUTH}/me", json={}, headers=headers)
    assert response.status_code == 422  # the spec's minProperties: 1
    assert pointers(response) == {"#"}


def test_a_taken_email_is_409(anon: TestClient, member: Member) -> None:
    headers = {**bearer(tokens(anon, member.email)["access_token"]), **MERGE_PATCH}
    response = anon.patch(f"{AUTH}/me", json={"email": ADMIN_EMAIL, "current_password": PASSWORD}, headers=headers)
    assert response.status_code == 409
    assert login(anon, member.email).status_code == 200


# --- password change ------------------------------------------------------------------------------------------------
def change_password(client: TestClient, access: str, current: str, new: str) -> Any:
    return client.post(
        f"{AUTH}/me/password", json={"current_password": current, "new_password": new}, headers=bearer(access)
    )


def test_a_wrong_current_password_changes_nothing(anon: TestClient, member: Member) -> None:
    access = tokens(anon, member.email)["access_token"]
    assert change_password(anon, access, NEW_PASSWORD, NEW_PASSWORD).status_code == 403
    assert login(anon, member.email).status_code == 200
    assert login(anon, member.email, NEW_PASSWORD).status_code == 401


def test_a_weak_new_password_is_422(anon: TestClient, member: Member) -> None:
    access = tokens(anon, member.email)["access_token"]
    local_part = member.email.partition("@")[0]
    response = change_password(anon, access, PASSWORD, f"{local_part} forever and ever")
    assert response.status_code == 422
    assert pointers(response) == {"#/new_password"}
    assert login(anon, member.email).status_code == 200


def test_a_password_change_ends_the_other_sessions(anon: TestClient, member: Member) -> None:
    this, other = tokens(anon, member.email), tokens(anon, member.email)

    assert change_password(anon, this["access_token"], PASSWORD, NEW_PASSWORD).status_code == 204

    assert login(anon, member.email).status_code == 401
    assert login(anon, member.email, NEW_PASSWORD).status_code == 200
    assert refresh(anon, other["refresh_token"]).status_code == 401
    # The other session's access token ends now too, not when it would have expired.
    assert me(anon, other["access_token"]).status_code == 401
    assert me(anon, this["access_token"]).status_code == 200
    assert refresh(anon, this["refresh_token"]).status_code == 200


# --- the bootstrap admin --------------------------------------------------------------------------------------------
def test_admin_email_and_password_create_the_first_admin(anon: TestClient) -> None:
    pair = tokens(anon, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert me(anon, pair["access_token"]).json()["role"] == "admin"


def test_a_second_start_neither_adds_an_admin_nor_changes_the_password(
    anon: TestClient, auth_settings: Settings, database_url: str
) -> None:
    again = auth_settings.model_copy(
        update={"admin_email": "second-admin@example.com", "admin_password": SecretStr(NEW_PASSWORD)}
    )
    with TestClient(create_app(again), raise_server_exceptions=False) as restarted:
        assert restarted.app.state.admin_created is False  # type: ignore[attr-defined]
        assert login(restarted, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
        assert login(restarted, "second-admin@example.com", NEW_PASSWORD).status_code == 401
    same = auth_settings.model_copy(update={"admin_password": SecretStr(NEW_PASSWORD)})
    with TestClient(create_app(same), raise_server_exceptions=False) as restarted:
        assert login(restarted, ADMIN_EMAIL, NEW_PASSWORD).status_code == 401
        assert login(restarted, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200
    assert run_sql(database_url, "SELECT email FROM users WHERE role = 'admin'") == [(ADMIN_EMAIL,)]


def test_without_admin_settings_no_admin_exists(database_url: str, tmp_path: Path) -> None:
    settings = test_settings(tmp_path / "data", database_url=database_url, admin_email=None, admin_password=None)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        assert login(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 401
    assert run_sql(database_url, "SELECT id FROM users WHERE role = 'admin'") == []


def test_an_admin_password_breaking_the_rules_refuses_to_start(database_url: str, tmp_path: Path) -> None:
    settings = test_settings(tmp_path / "data", database_url=database_url, admin_password=SecretStr("password1234567"))
    with pytest.raises(ValueError, match="ADMIN_PASSWORD"), TestClient(create_app(settings)):
        pass
    assert run_sql(database_url, "SELECT id FROM users WHERE role = 'admin'") == []


# --- the public signing keys ----------------------------------------------------------------------------------------
def test_hs256_publishes_no_keys(client: TestClient) -> None:
    response = client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json() == {"keys": []}


def test_rs256_publishes_the_public_key_that_verifies_its_tokens(tmp_path: Path) -> None:
    keys_dir = tmp_path / "keys"
    keys_dir.mkdir()
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (keys_dir / "2025-01-a.pem").write_bytes(pem)
    settings = test_settings(tmp_path / "data", jwt_algorithm="RS256", jwt_keys_dir=keys_dir)

    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        published = client.get("/.well-known/jwks.json").json()["keys"]
        access = tokens(client, ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"]

    assert [entry["kid"] for entry in published] == ["2025-01-a"]
    entry = published[0]
    assert entry["kty"] == "RSA"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(entry)  # no private members
    assert jwt.get_unverified_header(access)["kid"] == "2025-01-a"
    claims = jwt.decode(
        access, jwt.PyJWK(entry).key, algorithms=["RS256"], audience=settings.jwt_audience, issuer=settings.jwt_issuer
    )
    assert claims["role"] == "admin"
