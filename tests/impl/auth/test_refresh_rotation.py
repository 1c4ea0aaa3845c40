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


def test_the_oauth2_refresh_form_rotates_like_json(anon: TestClient, member: Member) -> None:
    # RFC 6749 §6: what an OAuth2 client library sends to the flow's refreshUrl.
    first = tokens(anon, member.email)
    by_form = anon.post(
        f"{AUTH}/refresh", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]}
    )

    assert by_form.status_code == 200, by_form.text
    second = by_form.json()
    assert me(anon, second["access_token"]).json()["email"] == member.email
    assert refresh(anon, second["refresh_token"]).status_code == 200  # then JSON, the same session
    # The form's reuse is caught as the JSON's is: the whole session goes.
    reused = anon.post(f"{AUTH}/refresh", data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert reused.status_code == 401
    assert me(anon, second["access_token"]).status_code == 401


def test_a_refresh_form_off_the_grant_is_refused_before_any_rotation(anon: TestClient, member: Member) -> None:
    pair = tokens(anon, member.email)
    token = pair["refresh_token"]
    form = {"Content-Type": "application/x-www-form-urlencoded"}

    wrong_grant = anon.post(f"{AUTH}/refresh", data={"grant_type": "password", "refresh_token": token})
    assert wrong_grant.status_code == 422
    assert wrong_grant.json()["errors"][0]["pointer"] == "#/grant_type"
    twice = anon.post(f"{AUTH}/refresh", content=f"refresh_token={token}&refresh_token=x".encode(), headers=form)
    assert twice.status_code == 422
    assert twice.json()["errors"] == [{"detail": "Sent more than once", "pointer": "#/refresh_token"}]
    missing = anon.post(f"{AUTH}/refresh", data={"grant_type": "refresh_token"})
    assert missing.status_code == 422
    text = anon.post(f"{AUTH}/refresh", content=b"refresh_token=x", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415
    malformed = anon.post(f"{AUTH}/refresh", content=b"{", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.headers["content-type"] == "application/problem+json"

    assert refresh(anon, token).status_code == 200  # none of those used the token up
