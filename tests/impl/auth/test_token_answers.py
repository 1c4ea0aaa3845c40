"""Answers that carry tokens: never stored by any cache, and a refresh budget of its own (not the sign-in one)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, test_settings
from tests.impl.auth.conftest import AUTH, login, refresh


def test_every_answer_carrying_a_token_forbids_caching(client: TestClient) -> None:
    signed_in = client.post(f"{AUTH}/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    form = client.post(
        f"{AUTH}/token", data={"grant_type": "password", "username": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    rotated = refresh(client, signed_in.json()["refresh_token"])

    for response in (signed_in, form, rotated):
        assert response.status_code == 200, response.text
        assert response.headers["cache-control"] == "no-store"  # RFC 6749 §5.1
        assert response.headers["pragma"] == "no-cache"


def rotated(client: TestClient, pair: dict[str, Any], times: int) -> dict[str, Any]:
    """The session's token pair after ``times`` successful refreshes."""
    for _ in range(times):
        response = refresh(client, pair["refresh_token"])
        assert response.status_code == 200, response.text
        pair = response.json()
    return pair


def test_refreshing_does_not_spend_the_addresss_sign_in_budget(tmp_path: Path) -> None:
    settings = test_settings(tmp_path / "data", rate_limit_enabled=True)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        rotated(client, login(client, ADMIN_EMAIL, ADMIN_PASSWORD).json(), 4)

        # Four more people behind the same address can still sign in (auth: 5 per window, one used above).
        for _ in range(4):
            assert login(client, ADMIN_EMAIL, ADMIN_PASSWORD).status_code == 200


def test_one_session_refreshing_in_a_loop_is_limited_by_its_own_policy(tmp_path: Path) -> None:
    settings = test_settings(tmp_path / "data", rate_limit_enabled=True, rate_limit_refresh="3/300")
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        pair = rotated(client, login(client, ADMIN_EMAIL, ADMIN_PASSWORD).json(), 3)
        limited = refresh(client, pair["refresh_token"])
        assert limited.status_code == 429
        assert "retry-after" in limited.headers
        # Another session of the same address is not held back by this one's budget.
        other = login(client, ADMIN_EMAIL, ADMIN_PASSWORD).json()
        assert refresh(client, other["refresh_token"]).status_code == 200
