"""The chat suite's helpers: a real server (uvicorn on a loopback port), accounts and their tokens, a client."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Origin, Subprotocol

from impl.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.impl.chat.contract import server_frame
from tests.live_server import LiveServer, live_server

CHAT = "/api/v1/ws/chat"
PROTOCOL = Subprotocol("charter.chat.v1")
PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture
WAIT = 5.0

Serve = Callable[..., AbstractContextManager[LiveServer]]


@pytest.fixture
def serve(tmp_path: Path) -> Serve:
    """``with serve(**settings) as server:`` runs the app with those settings on a real socket."""

    @contextmanager
    def running(**overrides: Any) -> Iterator[LiveServer]:
        app = create_app(test_settings(tmp_path / f"data-{uuid.uuid4().hex[:8]}", **overrides))
        with live_server(app) as server:
            yield server

    return running


@pytest.fixture
def server(serve: Serve) -> Iterator[LiveServer]:
    with serve() as running:
        yield running


def admin_token(server: LiveServer) -> str:
    return login(server, ADMIN_EMAIL, ADMIN_PASSWORD)


def login(server: LiveServer, email: str, password: str = PASSWORD) -> str:
    response = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def member_token(server: LiveServer) -> str:
    """A fresh account's access token."""
    email = f"m{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "name": "Chat Member", "password": PASSWORD}
    assert httpx.post(f"{server.url}/api/v1/auth/register", json=body).status_code == 202
    return login(server, email)


def logout(server: LiveServer, token: str) -> None:
    assert httpx.post(f"{server.url}/api/v1/auth/logout", headers=bearer(token)).status_code == 204


def chat(
    server: LiveServer,
    token: str | None,
    *,
    origin: str | None = None,
    header: bool = False,
) -> connect:
    """A chat connection, the token offered as a subprotocol (browsers) or, with ``header``, as Authorization."""
    subprotocols = [PROTOCOL]
    headers: dict[str, str] = {}
    if token is not None and header:
        headers = bearer(token)
    elif token is not None:
        subprotocols.append(Subprotocol(f"bearer.{token}"))
    return connect(
        f"{server.ws_url}{CHAT}",
        subprotocols=subprotocols,
        additional_headers=headers,
        origin=Origin(origin) if origin else None,
        proxy=None,
        open_timeout=WAIT,
        close_timeout=WAIT,
    )


async def receive(ws: ClientConnection) -> dict[str, Any]:
    """The next frame, validated against the AsyncAPI document."""
    return server_frame(await ws.recv(decode=True))


async def send(ws: ClientConnection, **frame: Any) -> None:
    await ws.send(json.dumps(frame))


async def exchange(ws: ClientConnection, **frame: Any) -> dict[str, Any]:
    await send(ws, **frame)
    return await receive(ws)


async def welcomed(ws: ClientConnection) -> dict[str, Any]:
    frame = await receive(ws)
    assert frame["type"] == "welcome"
    return frame


async def joined(ws: ClientConnection, room: str) -> None:
    await welcomed(ws)
    assert await exchange(ws, type="join", room=room) == {"type": "joined", "room": room}
