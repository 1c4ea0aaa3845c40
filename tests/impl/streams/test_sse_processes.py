"""SSE across real server processes: an event made on one process reaches a stream on another through Redis, and
SIGTERM ends open streams at once instead of holding the shutdown up."""

from __future__ import annotations

import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer
from tests.impl.streams.sse import EVENTS, frames, next_event
from tests.server_processes import ServerProcess, fresh_database, server_process

pytestmark = pytest.mark.slow

TIMEOUT = httpx.Timeout(15.0)


def token(server: ServerProcess) -> str:
    response = httpx.post(
        f"{server.url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=TIMEOUT
    )
    assert response.status_code == 200, response.text
    access: str = response.json()["access_token"]
    return access


@pytest.fixture(scope="module")
def database(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


def test_a_stream_on_one_process_sees_a_user_created_through_another(
    database: str, redis_url: str, tmp_path: Path
) -> None:
    with (
        server_process(data_dir=tmp_path / "a", database_url=database, REDIS_URL=redis_url) as a,
        server_process(data_dir=tmp_path / "b", database_url=database, REDIS_URL=redis_url) as b,
        httpx.Client(base_url=b.url, timeout=TIMEOUT) as client,
        client.stream("GET", EVENTS, headers=bearer(token(b))) as response,
    ):
        stream = frames(response)
        assert next(stream).retry == 3000
        email = f"p{uuid.uuid4().hex[:12]}@example.com"
        created = httpx.post(
            f"{a.url}/api/v1/users", json={"email": email, "name": "Across"}, headers=bearer(token(a)), timeout=TIMEOUT
        )
        assert created.status_code == 201

        event = next_event(stream)

    assert event.event == "user.created"
    assert event.data["data"] == {"user": created.json()}


def test_sigterm_ends_open_streams_cleanly_and_the_process_exits_promptly(database: str, tmp_path: Path) -> None:
    with (
        server_process(data_dir=tmp_path / "s", database_url=database) as server,
        httpx.Client(base_url=server.url, timeout=TIMEOUT) as client,
        client.stream("GET", EVENTS, headers=bearer(token(server))) as response,
    ):
        stream = frames(response)
        assert next(stream).retry == 3000
        started = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        rest = list(stream)  # the response ends properly (no broken chunked encoding)
        ended_in = time.monotonic() - started
        code = server.process.wait(timeout=10)
        exited_in = time.monotonic() - started

    assert rest == []
    assert ended_in < 2
    assert exited_in < 5
    # uvicorn re-raises the signal once it has shut down gracefully, so the exit status is the signal's.
    assert code in (0, -signal.SIGTERM)
