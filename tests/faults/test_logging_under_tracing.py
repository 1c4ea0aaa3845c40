"""A served process with tracing export on keeps answering while other threads log.

The span exporter runs in its own thread and logs (a collector that refuses connections, retries); the Argon2 pool,
Redis' and SQLAlchemy's threads may log too. Meanwhile the event loop writes the access lines of the requests it
answered. No lock of one component may be held while another's is taken, or the loop and a logging thread wait
for each other forever: every request then times out, ``/livez`` too, and SIGTERM is never acted on.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer
from tests.otlp_collector import otlp_collector
from tests.server_processes import server_process

CLIENTS = 8
REQUESTS = 3_000
ME = "/api/v1/auth/me"


@pytest.fixture(scope="module")
def live_collector() -> Iterator[str]:
    """An OTLP/HTTP collector that accepts every export."""
    with otlp_collector() as collector:
        yield collector.url


def closed_port() -> str:
    """A loopback address nothing listens on: every export is refused, and the exporter logs it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def answered(base_url: str, token: str, count: int) -> int:
    """How many of ``count`` reads of the caller's account were answered 200 (stops at the first that was not)."""
    with httpx.Client(base_url=base_url, headers=bearer(token), timeout=5.0) as client:
        for done in range(count):
            try:
                if client.get(ME).status_code != 200:
                    return done
            except httpx.TransportError:
                return done
    return count


@pytest.mark.slow
@pytest.mark.parametrize("collector", ["closed port", "live collector"])
def test_authenticated_reads_are_all_answered_and_sigterm_stops_the_process(
    tmp_path: Path, collector: str, request: pytest.FixtureRequest
) -> None:
    endpoint = closed_port() if collector == "closed port" else request.getfixturevalue("live_collector")
    with server_process(
        data_dir=tmp_path / "data",
        TRACING_ENABLED="true",
        OTLP_ENDPOINT=endpoint,
        ACCESS_LOG="true",
        # The export thread logs often: urllib3's DEBUG line per export (and its failures), small batches sent
        # every 10 ms rather than every 5 s.
        LOG_LEVEL="debug",
        OTEL_BSP_SCHEDULE_DELAY="10",
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE="16",
    ) as server:
        login = httpx.post(
            f"{server.url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=10
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]

        with ThreadPoolExecutor(CLIENTS) as pool:
            counts = list(pool.map(lambda _: answered(server.url, token, REQUESTS // CLIENTS), range(CLIENTS)))

        assert sum(counts) == REQUESTS
        assert httpx.get(f"{server.url}/livez", timeout=5).status_code == 200
        server.process.send_signal(signal.SIGTERM)
        began = time.monotonic()
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pytest.fail("SIGTERM did not stop the process within 10 s")
        assert time.monotonic() - began < 10
