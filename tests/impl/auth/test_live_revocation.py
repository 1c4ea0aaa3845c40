"""Revocation reaches the channels already open: a chat socket is closed and an event stream ends, within 2 s."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from impl.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.impl.chat.conftest import chat, welcomed
from tests.impl.streams.sse import EVENTS, frames
from tests.live_server import LiveServer, live_server

USERS = "/api/v1/users"
PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture
POLICY_VIOLATION = 1008
WITHIN = 2.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = test_settings(tmp_path_factory.mktemp("revocation") / "data", sse_tick_seconds=60)
    with live_server(create_app(settings)) as running:
        yield running


def login(server: LiveServer, email: str) -> str:
    password = ADMIN_PASSWORD if email == ADMIN_EMAIL else PASSWORD
    response = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def new_member(server: LiveServer) -> tuple[str, str]:
    email = f"m{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "name": "Live Member", "password": PASSWORD}
    created = httpx.post(f"{server.url}{USERS}", json=body, headers=bearer(login(server, ADMIN_EMAIL)))
    assert created.status_code == 201, created.text
    return created.json()["id"], login(server, email)


def deactivate(server: LiveServer, user_id: str) -> None:
    headers = {**bearer(login(server, ADMIN_EMAIL)), "Content-Type": "application/merge-patch+json"}
    response = httpx.patch(f"{server.url}{USERS}/{user_id}", json={"active": False}, headers=headers)
    assert response.status_code == 200, response.text


async def drain(ws: ClientConnection) -> None:
    """Read until the server closes the connection (ConnectionClosed), or fail after a while."""
    async with asyncio.timeout(WITHIN + 3):
        while True:
            await ws.recv()


def test_logging_out_closes_the_open_chat_socket(server: LiveServer) -> None:
    _, token = new_member(server)

    async def scenario() -> float:
        async with chat(server, token) as ws:
            await welcomed(ws)
            await asyncio.to_thread(httpx.post, f"{server.url}/api/v1/auth/logout", headers=bearer(token))
            started = time.monotonic()
            with pytest.raises(ConnectionClosed):
                await drain(ws)
            assert ws.close_code == POLICY_VIOLATION
            return time.monotonic() - started

    assert asyncio.run(scenario()) < WITHIN


def test_deactivation_ends_the_open_event_stream(server: LiveServer) -> None:
    user_id, token = new_member(server)
    with (
        httpx.Client(base_url=server.url, timeout=httpx.Timeout(10.0)) as client,
        client.stream("GET", EVENTS, headers=bearer(token)) as response,
    ):
        assert response.status_code == 200
        stream = frames(response)
        assert next(stream).retry is not None
        deactivate(server, user_id)
        started = time.monotonic()
        for _ in stream:
            assert time.monotonic() - started < WITHIN + 3
        ended_after = time.monotonic() - started
    assert ended_after < WITHIN
