"""The access guard over HTTP: how a missing or bad token is answered, and who a request is counted against."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.auth.account_states import AccountStates
from impl.auth.errors import UnauthorizedError
from impl.auth.guard import AccessGuard
from impl.auth.signing_keys import SigningKeys
from impl.auth.token_blacklist import MemoryTokenBlacklist
from impl.auth.tokens import TokenService
from impl.platform.events import MemoryEventBus
from impl.platform.rate_limit import RateLimiter
from tests.conftest import ADMIN_EMAIL, bearer, sign_in, test_settings
from tests.impl.auth.conftest import AUTH, PASSWORD, login, register

ME = f"{AUTH}/me"
REALM = 'Bearer realm="charter"'
INVALID = 'Bearer realm="charter", error="invalid_token"'


@contextmanager
def running(tmp_path: Path, **overrides: Any) -> Iterator[TestClient]:
    """A client on an app built with these settings (in-process rate-limit storage: no Redis involved)."""
    with TestClient(create_app(test_settings(tmp_path / "data", **overrides)), raise_server_exceptions=False) as client:
        yield client


# --- 401 ------------------------------------------------------------------------------------------------------------
def test_no_token_is_a_bare_challenge(client: TestClient) -> None:
    response = client.get(ME)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == REALM
    assert response.headers["content-type"] == "application/problem+json"


def test_a_bad_token_says_invalid_token(client: TestClient) -> None:
    for token in ("garbage", "a.b.c", "e30.e30.", sign_in(client) + "x"):
        response = client.get(ME, headers=bearer(token))
        assert response.status_code == 401, token
        assert response.headers["www-authenticate"] == INVALID


def test_an_empty_bearer_is_no_token(client: TestClient) -> None:
    response = client.get(ME, headers={"Authorization": "Bearer   "})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith(REALM)


def test_basic_credentials_are_not_accepted(client: TestClient) -> None:
    response = client.get(ME, headers={"Authorization": "Basic YWRtaW5AZXhhbXBsZS5jb206eA=="})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith(REALM)


def test_a_token_in_the_query_string_is_ignored(client: TestClient) -> None:
    response = client.get(ME, params={"access_token": sign_in(client)})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == REALM


def test_the_scheme_name_is_case_insensitive(client: TestClient) -> None:
    assert client.get(ME, headers={"Authorization": f"bearer {sign_in(client)}"}).status_code == 200


# --- caching ----------------------------------------------------------------------------------------------------------
def test_authenticated_responses_are_never_stored(client: TestClient) -> None:
    response = client.get(ME, headers=bearer(sign_in(client)))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"


# --- rate limits ------------------------------------------------------------------------------------------------------
def test_a_limited_success_carries_the_ratelimit_headers(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit_enabled=True) as client:
        response = client.get(ME, headers=bearer(sign_in(client)))
    assert response.status_code == 200
    assert response.headers["ratelimit-policy"] == '"general";q=100;w=60'
    assert response.headers["ratelimit"].startswith('"general";r=99;t=')


def test_no_ratelimit_headers_when_limits_are_off(client: TestClient) -> None:
    response = client.get(ME, headers=bearer(sign_in(client)))
    assert response.status_code == 200
    assert "ratelimit" not in response.headers
    assert "ratelimit-policy" not in response.headers


def test_anonymous_requests_share_the_address_budget_and_users_have_their_own(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit_enabled=True, rate_limit_general="3/60") as client:
        assert register(client, "budget@example.com", name="Bea Budget").status_code == 202
        admin = bearer(sign_in(client))
        member = bearer(sign_in(client, "budget@example.com", PASSWORD))

        anonymous = [client.get(ME).status_code for _ in range(4)]
        first = [client.get(ME, headers=admin).status_code for _ in range(4)]
        second = [client.get(ME, headers=member).status_code for _ in range(4)]

    assert anonymous == [401, 401, 401, 429]  # failed attempts are counted too
    assert first == [200, 200, 200, 429]
    assert second == [200, 200, 200, 429]


def test_a_refused_request_says_when_to_retry(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit_enabled=True, rate_limit_general="1/60") as client:
        client.get(ME)
        refused = client.get(ME)
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit"].startswith('"general";r=0;t=')


def failed_logins(client: TestClient, forwarded_for: list[str]) -> list[int]:
    return [
        client.post(
            f"{AUTH}/login",
            json={"email": ADMIN_EMAIL, "password": "not the admin password at all"},
            headers={"X-Forwarded-For": address},
        ).status_code
        for address in forwarded_for
    ]


def test_a_spoofed_forwarded_for_does_not_reset_the_auth_budget(tmp_path: Path) -> None:
    with running(tmp_path, rate_limit_enabled=True) as client:
        statuses = failed_logins(client, [f"203.0.113.{n}" for n in range(1, 7)])
        # Even the right password waits now: the budget is the address's, not the account's.
        right = login(client, ADMIN_EMAIL, "a passphrase only the test suite knows")
    assert statuses == [401] * 5 + [429]
    assert right.status_code == 429


def test_a_trusted_proxy_names_the_client(tmp_path: Path) -> None:
    # TestClient's peer address is the literal "testclient"; uvicorn trusts non-IP literals by exact match.
    with running(tmp_path, rate_limit_enabled=True, trusted_proxies=["testclient"]) as client:
        same = failed_logins(client, ["198.51.100.7"] * 6)
        other = failed_logins(client, ["198.51.100.8"])
    assert same == [401] * 5 + [429]
    assert other == [401]


@dataclass(frozen=True)
class _Member:
    id: uuid.UUID
    email: str = "member@example.com"
    name: str = "Member"
    role: str = "user"
    active: bool = True
    password_hash: str | None = None


async def _always_active(user_id: uuid.UUID) -> _Member:
    return _Member(id=user_id)


def _bare_guard() -> tuple[AccessGuard, TokenService, MemoryTokenBlacklist]:
    tokens = TokenService(keys=SigningKeys.symmetric(secret="x" * 40), issuer="charter", audience="charter-api")
    blacklist = MemoryTokenBlacklist()
    return (
        AccessGuard(
            tokens=tokens,
            blacklist=blacklist,
            states=AccountStates(read=_always_active, bus=MemoryEventBus()),
            limiter=RateLimiter(policies={}, redis_url=None),
        ),
        tokens,
        blacklist,
    )


def test_a_token_from_elsewhere_than_the_header_is_verified_the_same_way() -> None:
    # WebSockets carry the token in a subprotocol; the guard checks it exactly as an Authorization header's.
    guard, tokens, blacklist = _bare_guard()
    token, claims = tokens.issue(token_type="access", subject=str(uuid.uuid4()), family_id="f1", role="user")
    refresh, _ = tokens.issue(token_type="refresh", subject=claims.subject, family_id="f1")

    principal = asyncio.run(guard.authenticate_token(token))
    assert (str(principal.subject), principal.role, principal.token_id) == (claims.subject, "user", claims.token_id)
    for wrong in ("", "not-a-jwt", refresh):
        with pytest.raises(UnauthorizedError):
            asyncio.run(guard.authenticate_token(wrong))
    asyncio.run(blacklist.revoke(token_id=claims.token_id, expires_at=claims.expires_at))
    with pytest.raises(UnauthorizedError):
        asyncio.run(guard.authenticate_token(token))
