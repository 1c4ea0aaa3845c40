"""Refresh tokens are single use (RFC 9700 §4.14): rotation, reuse detection, races, and the account behind them."""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, sign_in
from tests.impl.auth.conftest import AUTH, USERS, Member, me, refresh, set_active, tokens
from tests.impl.users.conftest import concurrent_client


def test_a_refresh_rotates_both_tokens(anon: TestClient, member: Member) -> None:
    first = tokens(anon, member.email)
    response = refresh(anon, first["refresh_token"])

    assert response.status_code == 200, response.text
    second = response.json()
    assert second["token_type"] == "Bearer"
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    assert me(anon, second["access_token"]).json()["email"] == member.email
    assert refresh(anon, second["refresh_token"]).status_code == 200  # the new one is good for one more turn


def test_a_reused_refresh_token_revokes_its_whole_family(anon: TestClient, member: Member) -> None:
    first = tokens(anon, member.email)
    second = refresh(anon, first["refresh_token"]).json()

    reused = refresh(anon, first["refresh_token"])
    assert reused.status_code == 401
    assert reused.headers["www-authenticate"] == 'Bearer realm="charter", error="invalid_token"'
    # Whoever holds the newest token (the thief or the owner) loses it too, and the session's access tokens with it.
    assert refresh(anon, second["refresh_token"]).status_code == 401
    assert me(anon, second["access_token"]).status_code == 401
    assert me(anon, first["access_token"]).status_code == 401


def test_reuse_in_one_session_leaves_other_sessions_alone(anon: TestClient, member: Member) -> None:
    stolen, untouched = tokens(anon, member.email), tokens(anon, member.email)
    refresh(anon, stolen["refresh_token"])
    assert refresh(anon, stolen["refresh_token"]).status_code == 401
    assert refresh(anon, untouched["refresh_token"]).status_code == 200


def test_two_parallel_refreshes_with_one_token_let_exactly_one_through(auth_app: FastAPI) -> None:
    async def race() -> list[int]:
        async with concurrent_client(auth_app) as client:
            login = await client.post(f"{AUTH}/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            body = {"refresh_token": login.json()["refresh_token"]}
            responses = await asyncio.gather(
                client.post(f"{AUTH}/refresh", json=body), client.post(f"{AUTH}/refresh", json=body)
            )
            return sorted(response.status_code for response in responses)

    assert asyncio.run(race()) == [200, 401]


def test_an_access_token_is_no_refresh_token(anon: TestClient, member: Member) -> None:
    pair = tokens(anon, member.email)
    assert refresh(anon, pair["access_token"]).status_code == 401
    assert refresh(anon, pair["refresh_token"]).status_code == 200  # and the session was not harmed by it


def test_a_refresh_token_is_no_access_token(anon: TestClient, member: Member) -> None:
    pair = tokens(anon, member.email)
    response = me(anon, pair["refresh_token"])
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="charter", error="invalid_token"'


def test_a_garbage_refresh_token_is_401_not_500(anon: TestClient) -> None:
    for garbage in ("x", "a.b.c", "e30.e30.", "../../etc/passwd"):
        assert refresh(anon, garbage).status_code == 401


def test_a_deactivated_account_cannot_refresh(anon: TestClient, member: Member) -> None:
    pair = tokens(anon, member.email)
    set_active(anon, me(anon, pair["access_token"]).json()["id"], active=False)
    assert refresh(anon, pair["refresh_token"]).status_code == 401


def test_a_deleted_account_cannot_refresh(anon: TestClient, member: Member) -> None:
    pair = tokens(anon, member.email)
    user_id = me(anon, pair["access_token"]).json()["id"]
    deleted = anon.delete(f"{USERS}/{user_id}", headers={**bearer(sign_in(anon)), "If-Match": "*"})
    assert deleted.status_code == 204, deleted.text
    assert refresh(anon, pair["refresh_token"]).status_code == 401
    assert me(anon, pair["access_token"]).status_code == 401
