"""The SSE stream over a real socket: access, what each role sees, resumption, heartbeats, ticks and its ends."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from impl.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.impl.streams.sse import EVENTS, Frame, frames, next_event
from tests.live_server import LiveServer, live_server

USERS = "/api/v1/users"
MERGE = {"Content-Type": "application/merge-patch+json"}
MEMBER_PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture
# Reads never hang a failing test: a stream that should have said something within this time is broken.
TIMEOUT = httpx.Timeout(10.0)


def start(tmp_path: Path, **settings: Any) -> Iterator[LiveServer]:
    options = {"sse_tick_seconds": 60, "sse_heartbeat_seconds": 60, **settings}
    with live_server(create_app(test_settings(tmp_path / "data", **options))) as server:
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    yield from start(tmp_path_factory.mktemp("sse"))


@pytest.fixture(scope="module")
def admin(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        client.headers.update(bearer(login(client, ADMIN_EMAIL, ADMIN_PASSWORD)))
        yield client


def login(client: httpx.Client, email: str, password: str) -> str:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def create_user(admin: httpx.Client, **extra: Any) -> dict[str, Any]:
    body = {"email": f"u{uuid.uuid4().hex[:12]}@example.com", "name": "Streamed", **extra}
    response = admin.post(USERS, json=body)
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


@contextmanager
def open_stream(
    server: LiveServer, token: str, headers: dict[str, str] | None = None, **params: Any
) -> Iterator[httpx.Response]:
    """A streaming GET of the SSE endpoint on its own connection."""
    with (
        httpx.Client(base_url=server.url, timeout=TIMEOUT) as client,
        client.stream("GET", EVENTS, headers={**bearer(token), **(headers or {})}, params=params) as response,
    ):
        yield response


def subscribed(stream: Iterator[Frame]) -> Iterator[Frame]:
    """Wait for the opening retry frame: from then on the server is subscribed, so nothing published is missed."""
    first = next(stream)
    assert first.retry == 3000
    return stream


def admin_token(admin: httpx.Client) -> str:
    return admin.headers["Authorization"].removeprefix("Bearer ")


@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token"])
def test_no_or_a_bad_token_is_401(server: LiveServer, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.get(f"{server.url}{EVENTS}", headers=headers, timeout=TIMEOUT)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_an_admin_receives_user_created_with_the_stream_headers(server: LiveServer, admin: httpx.Client) -> None:
    with open_stream(server, admin_token(admin)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "no-cache" in response.headers["cache-control"]
        assert "no-store" in response.headers["cache-control"]
        assert response.headers["x-accel-buffering"] == "no"
        stream = subscribed(frames(response))
        user = create_user(admin)

        event = next_event(stream)

    assert event.event == "user.created"
    assert event.id == event.data["id"]
    assert event.data["type"] == "user.created"
    assert event.data["data"] == {"user": user}


def test_a_user_sees_only_events_about_themselves(server: LiveServer, admin: httpx.Client) -> None:
    member = create_user(admin, password=MEMBER_PASSWORD)
    with httpx.Client(base_url=server.url, timeout=TIMEOUT) as client:
        token = login(client, member["email"], MEMBER_PASSWORD)
    with open_stream(server, token) as response:
        stream = subscribed(frames(response))
        other = create_user(admin)
        admin.patch(f"{USERS}/{other['id']}", json={"name": "Not Yours"}, headers=MERGE)
        admin.delete(f"{USERS}/{other['id']}")
        renamed = admin.patch(f"{USERS}/{member['id']}", json={"name": "Renamed"}, headers=MERGE).json()

        event = next_event(stream)  # the others' three events came first (one bus, in order) and were not sent

    assert event.event == "user.updated"
    assert event.data["data"] == {"user": renamed}


def test_resuming_with_last_event_id_replays_exactly_the_missed_events(server: LiveServer, admin: httpx.Client) -> None:
    with open_stream(server, admin_token(admin)) as response:
        stream = subscribed(frames(response))
        create_user(admin)
        seen = next_event(stream)
    missed = [create_user(admin) for _ in range(3)]

    assert seen.id is not None
    with open_stream(server, admin_token(admin), {"Last-Event-ID": seen.id}) as response:
        stream = subscribed(frames(response))
        replayed = [next_event(stream) for _ in missed]
        live = create_user(admin)
        after = next_event(stream)

    assert [frame.data["data"]["user"] for frame in replayed] == missed
    assert after.data["data"]["user"] == live  # no duplicate of a replayed event, no gap


def test_an_unknown_last_event_id_gets_a_reset_then_live_events(server: LiveServer, admin: httpx.Client) -> None:
    with open_stream(server, admin_token(admin), {"Last-Event-ID": "no-such-event"}) as response:
        stream = subscribed(frames(response))
        reset = next_event(stream)
        user = create_user(admin)
        event = next_event(stream)

    assert reset.event == "reset"
    assert reset.data == {"reason": "last_event_id_unknown"}
    assert event.data["data"] == {"user": user}


def test_a_last_event_id_over_200_characters_is_refused_as_invalid(server: LiveServer, admin: httpx.Client) -> None:
    response = httpx.get(
        f"{server.url}{EVENTS}", headers={**admin.headers, "Last-Event-ID": "x" * 201}, timeout=TIMEOUT
    )
    assert response.status_code == 422  # the spec's maxLength; never a 5xx


def test_a_disconnecting_client_releases_its_subscription(server: LiveServer, admin: httpx.Client) -> None:
    hub = server.app.state.streams
    before = hub.open_streams
    with open_stream(server, admin_token(admin)) as response:
        # Keep the reader: a discarded frames() generator would close the response (a disconnect) when collected.
        stream = subscribed(frames(response))
        assert hub.open_streams == before + 1
        assert stream is not None

    deadline = time.monotonic() + 5
    while hub.open_streams != before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert hub.open_streams == before


def test_the_stream_ends_after_max_seconds(server: LiveServer, admin: httpx.Client) -> None:
    started = time.monotonic()
    with open_stream(server, admin_token(admin), max_seconds=1) as response:
        received = list(frames(response))
    assert 0.9 <= time.monotonic() - started < 5
    assert received[0].retry == 3000


def test_heartbeats_fill_silence_and_ticks_carry_the_last_event_id(tmp_path: Path) -> None:
    for server in start(tmp_path, sse_heartbeat_seconds=0.2, sse_tick_seconds=0.5):
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as admin:
            admin.headers.update(bearer(login(admin, ADMIN_EMAIL, ADMIN_PASSWORD)))
            with open_stream(server, admin_token(admin)) as response:
                stream = subscribed(frames(response))
                heartbeat = next(stream)
                create_user(admin)
                event = next_event(stream)
                tick = next(frame for frame in stream if frame.event == "tick")

    assert heartbeat.comment == "keep-alive"
    assert tick.id == event.id
    assert tick.data["time"].endswith("Z")


def test_shutdown_ends_open_streams_cleanly_and_promptly(tmp_path: Path) -> None:
    for server in start(tmp_path):
        with httpx.Client(base_url=server.url, timeout=TIMEOUT) as admin:
            admin.headers.update(bearer(login(admin, ADMIN_EMAIL, ADMIN_PASSWORD)))
            with open_stream(server, admin_token(admin)) as response:
                stream = subscribed(frames(response))
                # What SIGTERM begins in a server process (signal handlers exist only in a main thread).
                asyncio.run_coroutine_threadsafe(server.app.state.shutdown.begin(), server.loop).result(5)
                rest = list(stream)  # the response ends: no exception, no hang
            started = time.monotonic()
            server.stop()
            stopped_in = time.monotonic() - started

    assert rest == []
    assert stopped_in < 3  # nothing left for uvicorn's graceful shutdown to wait for
    assert not server.thread.is_alive()
