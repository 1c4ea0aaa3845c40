"""The database circuit breaker in a running app: PostgreSQL crashes and its host then hangs (connections accepted,
never answered), so each request waits for the connect timeout until the breaker opens and every request gets its
503 at once; when PostgreSQL is back, /readyz reaches it past the open breaker and the app recovers without a
restart, long before the breaker's own recovery timeout would have let a request try.

The cluster is the test's own (tests/faults/throwaway_postgres.py), never the shared server on 5432.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import bearer, sign_in, test_settings
from tests.faults.throwaway_postgres import ThrowawayPostgres, throwaway_postgres_or_skip
from tests.impl.platform.metrics_scrape import sample

pytestmark = pytest.mark.slow

CONNECT_TIMEOUT_SECONDS = 0.5
THRESHOLD = 3
# Long on purpose: recovery within the test can only come from a health check reaching the database.
RECOVERY_SECONDS = 120
FAST_SECONDS = 0.25
OPEN, CLOSED = 2, 0  # charter_circuit_breaker_state


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres_or_skip() as server:
        yield server


@contextlib.contextmanager
def _hung_host_on(port: int) -> Iterator[None]:
    """What a vanished database host looks like to a client: the connection is accepted, and nothing answers."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        silent.bind(("127.0.0.1", port))
        silent.listen(128)
        yield


def _timed_me(client: TestClient, token: str) -> tuple[float, int, dict[str, str]]:
    started = time.perf_counter()
    response = client.get("/api/v1/auth/me", headers=bearer(token))  # reads the account from the database
    return time.perf_counter() - started, response.status_code, dict(response.headers)


def _state(client: TestClient) -> float | None:
    return sample(client.get("/metrics").text, "charter_circuit_breaker_state", dependency="database")


def test_a_hung_database_fails_fast_once_the_breaker_opens_and_readiness_sees_it_return(
    postgres: ThrowawayPostgres, tmp_path: Path
) -> None:
    settings = test_settings(
        tmp_path / "data",
        database_url=postgres.url,
        db_connect_timeout_seconds=CONNECT_TIMEOUT_SECONDS,
        db_breaker_failure_threshold=THRESHOLD,
        db_breaker_recovery_seconds=RECOVERY_SECONDS,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        token = sign_in(client)
        assert _timed_me(client, token)[1] == 200
        assert client.get("/readyz").status_code == 200
        assert _state(client) == CLOSED

        postgres.kill()
        with _hung_host_on(postgres.port):
            # Closed: each request waits for one connect timeout, then answers 503 + Retry-After.
            for _ in range(THRESHOLD):
                elapsed, status, headers = _timed_me(client, token)
                assert (status, headers["content-type"]) == (503, "application/problem+json")
                assert "retry-after" in headers
                assert CONNECT_TIMEOUT_SECONDS * 0.9 <= elapsed < 5
            assert _state(client) == OPEN

            # Open: the same 503 at once, Retry-After = the rest of the open time.
            for _ in range(5):
                elapsed, status, headers = _timed_me(client, token)
                assert (status, headers["content-type"]) == (503, "application/problem+json")
                assert RECOVERY_SECONDS - 5 <= int(headers["retry-after"]) <= RECOVERY_SECONDS
                assert elapsed < FAST_SECONDS
            # Readiness still asks the host itself (and so takes its time): down, with the database named.
            readiness = client.get("/readyz")
            assert readiness.status_code == 503
            down = {check["name"] for check in readiness.json()["checks"] if check["status"] != "up"}
            assert down == {"database"}
            assert _state(client) == OPEN

        postgres.start()  # same port and data directory: crash recovery, no restart of the app
        assert _timed_me(client, token)[1] == 503  # nothing has tried the database yet: still open
        deadline = time.monotonic() + 15
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "/readyz did not see the database return"
            time.sleep(0.2)
        assert _state(client) == CLOSED  # long before RECOVERY_SECONDS
        elapsed, status, _ = _timed_me(client, token)
        assert status == 200
        detailed = client.get("/health/detailed", headers=bearer(token))
        assert detailed.status_code == 200
        assert {check["name"]: check["status"] for check in detailed.json()["checks"]}["database"] == "up"
