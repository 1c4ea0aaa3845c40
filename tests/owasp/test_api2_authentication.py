"""API2:2023 Broken Authentication — tokens only where they belong, sign-in throttled, answers that leak nothing.

The JWT rules of RFC 8725 that are not about who may call what (the access matrix covers `alg: none`, foreign keys
and odd `kid`s on every operation) are proven here on `GET /auth/me`: claims that are wrong or missing are 401.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.platform.settings import Settings
from tests.conftest import bearer, test_settings
from tests.owasp.conftest import AUTH, MERGE_PATCH, PASSWORD, Account, make_account, unique_email


@pytest.fixture
def limited_client(tmp_path: Path) -> Iterator[TestClient]:
    """An app with the spec's rate limits on (the auth policy: 5 requests per 300 s)."""
    app = create_app(test_settings(tmp_path / "data", rate_limit_enabled=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def member(api: TestClient, admin_token: str) -> Account:
    return make_account(api, admin_token)


def _login(client: TestClient, email: str, password: str) -> Any:
    return client.post(f"{AUTH}/login", json={"email": email, "password": password})


def test_the_sixth_login_in_the_window_is_429_with_retry_after_and_ratelimit_headers(
    limited_client: TestClient,
) -> None:
    answers = [_login(limited_client, "nobody@example.com", "guessing at random passwords") for _ in range(6)]

    assert [answer.status_code for answer in answers] == [401] * 5 + [429]
    refused = answers[-1]
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.headers["RateLimit-Policy"] == '"auth";q=5;w=300'
    assert refused.headers["RateLimit"].startswith('"auth";r=0;t=')
    assert refused.headers["content-type"] == "application/problem+json"


def test_a_token_in_the_query_string_is_not_accepted(api: TestClient, member: Account) -> None:
    response = api.get(f"{AUTH}/me", params={"access_token": member.token})

    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


def test_a_refresh_token_is_not_an_access_token(api: TestClient, member: Account) -> None:
    refresh_token = _login(api, member.email, member.password).json()["refresh_token"]

    assert api.get(f"{AUTH}/me", headers=bearer(refresh_token)).status_code == 401


def test_an_access_token_does_not_refresh(api: TestClient, member: Account) -> None:
    response = api.post(f"{AUTH}/refresh", json={"refresh_token": member.token})

    assert response.status_code == 401


def test_an_email_change_needs_the_current_password(api: TestClient, member: Account) -> None:
    new_email = unique_email()
    patch = {**member.headers, **MERGE_PATCH}

    without = api.patch(f"{AUTH}/me", json={"email": new_email}, headers=patch)
    wrong = api.patch(
        f"{AUTH}/me", json={"email": new_email, "current_password": "not my password at all"}, headers=patch
    )

    # Missing is a malformed request (422, pointing at the member); present but wrong is a refusal (403).
    assert without.status_code == 422, without.text
    assert without.json()["errors"][0]["pointer"] == "#/current_password"
    assert wrong.status_code == 403, wrong.text
    assert api.get(f"{AUTH}/me", headers=member.headers).json()["email"] == member.email
    right = api.patch(f"{AUTH}/me", json={"email": new_email, "current_password": PASSWORD}, headers=patch)
    assert right.status_code == 200, right.text


def test_a_password_change_needs_the_current_password(api: TestClient, member: Account) -> None:
    response = api.post(
        f"{AUTH}/me/password",
        json={"current_password": "not my password at all", "new_password": "seven copper kites over the marsh"},
        headers=member.headers,
    )

    assert response.status_code == 403
    assert _login(api, member.email, member.password).status_code == 200


def test_an_unknown_email_and_a_wrong_password_get_the_same_answer(api: TestClient, member: Account) -> None:
    unknown = _login(api, unique_email(), PASSWORD)
    wrong = _login(api, member.email, "a wrong password for a real account")

    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
    assert unknown.headers["WWW-Authenticate"] == wrong.headers["WWW-Authenticate"]


def _forged(subject: str, **changes: Any) -> str:
    settings = Settings(app_env="test")
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": subject,
        "jti": uuid.uuid4().hex,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "sid": uuid.uuid4().hex,
        "token_use": "access",
        "role": "user",
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name)
        else:
            claims[name] = value
    secret = settings.secret_key.get_secret_value()
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": "hs256-1", "typ": "at+jwt"})


def test_a_well_formed_token_signed_with_the_service_key_is_accepted(api: TestClient, member: Account) -> None:
    # The control for the cases below: only the one claim each of them changes makes them fail.
    assert api.get(f"{AUTH}/me", headers=bearer(_forged(member.id))).status_code == 200


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"aud": "someone-else"}, id="wrong-audience"),
        pytest.param({"iss": "someone-else"}, id="wrong-issuer"),
        pytest.param({"nbf": int(time.time()) + 3600}, id="not-yet-valid"),
        pytest.param({"exp": int(time.time()) - 3600}, id="expired"),
        pytest.param({"exp": None}, id="no-exp"),
        pytest.param({"jti": None}, id="no-jti"),
        pytest.param({"token_use": "refresh"}, id="refresh-use"),
        pytest.param({"role": None}, id="no-role"),
    ],
)
def test_a_token_with_a_wrong_or_missing_claim_is_401(
    api: TestClient, member: Account, changes: dict[str, Any]
) -> None:
    response = api.get(f"{AUTH}/me", headers=bearer(_forged(member.id, **changes)))

    assert response.status_code == 401
    assert "WWW-Authenticate" in response.headers


@pytest.mark.parametrize(
    "token",
    ["", "not-a-jwt", "a.b.c", "eyJhbGciOiJOT05FIn0.e30.", "x" * 10_000],
    ids=["empty", "garbage", "three-dots", "alg-NONE", "huge"],
)
def test_a_malformed_token_is_401_never_500(api: TestClient, token: str) -> None:
    response = api.get(f"{AUTH}/me", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 401
