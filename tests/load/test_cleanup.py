"""At test stop, the load run deletes exactly what it created: leftover files as their owners, then its users."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from impl.app import create_app
from load.cleanup import ApiClient, Cleaned, clean_up
from load.journeys.data import multipart
from load.run_state import Credentials, RunState
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, test_settings
from tests.live_server import LiveServer, live_server

ADMIN = Credentials(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(create_app(test_settings(tmp_path))) as running:
        yield running


def _account(client: ApiClient, email: str) -> tuple[Credentials, str]:
    credentials = Credentials(email, "correct horse battery staple quartz")
    body = {"email": email, "name": "Load test", "password": credentials.password}
    assert client.request("POST", "/api/v1/auth/register", body=body).status == 202
    token = client.sign_in(credentials)
    assert token is not None
    return credentials, token


def _upload(server: LiveServer, token: str) -> str:
    import httpx2

    body, content_type = multipart("file", "notes.txt", b"load test file", "text/plain")
    response = httpx2.post(
        f"{server.url}/api/v1/files",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_cleanup_deletes_the_runs_files_and_users_and_nothing_else(server: LiveServer) -> None:
    client = ApiClient(server.url)
    state = RunState(admin=ADMIN, run_id="load-c1ea4a11")
    owner, owner_token = _account(client, f"{state.run_id}-files-1@load.example.com")
    _account(client, f"{state.run_id}-newcomer-2@load.example.com")
    _, other_token = _account(client, "someone-else@example.com")  # not this run's: must survive
    leftover = _upload(server, owner_token)
    kept = _upload(server, other_token)
    state.files[leftover] = owner

    cleaned = clean_up(server.url, state)

    assert cleaned == Cleaned(files_deleted=1, files_left=0, users_deleted=2, users_left=0)
    assert state.files == {}
    admin_token = client.sign_in(ADMIN)
    assert admin_token is not None
    remaining = client.request("GET", "/api/v1/users?limit=100", token=admin_token).body["items"]
    assert sorted(user["email"] for user in remaining) == [ADMIN_EMAIL, "someone-else@example.com"]
    assert client.request("GET", f"/api/v1/files/{kept}", token=other_token).status == 200
    # The owner's account is gone, and so is the file (deleted first, while the owner could still sign in).
    assert client.sign_in(owner) is None


def test_the_client_refuses_a_target_that_is_not_http() -> None:
    with pytest.raises(ValueError, match="http"):
        ApiClient("file:///etc/passwd")


def test_a_long_retry_after_is_not_waited_out(tmp_path: Path) -> None:
    import time

    # Rate limits on, as on a remote target: the `auth` policy's Retry-After is minutes, too long to wait out.
    with live_server(create_app(test_settings(tmp_path, rate_limit_enabled=True))) as running:
        client = ApiClient(running.url)
        stranger = Credentials("nobody@load.example.com", "correct horse battery staple quartz")
        statuses = []
        started = time.monotonic()
        for _ in range(7):
            body = {"email": stranger.email, "password": stranger.password}
            statuses.append(client.request("POST", "/api/v1/auth/login", body=body).status)

    assert statuses[-1] == 429
    assert set(statuses) == {401, 429}
    assert time.monotonic() - started < 30  # answered at once, not after the 5-minute window
