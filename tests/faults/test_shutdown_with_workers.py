"""SIGTERM with several workers: every new connection is answered or refused, never accepted and then reset.

Client threads open a new connection per request to /health, a slow request keeps one worker busy past the
signal, and the supervisor gets SIGTERM. Each request sent after the signal must either be answered or find the
socket closed (refused at connect: a load balancer retries it elsewhere); a connection that is accepted and then
reset leaves the client unsure whether a POST was done. The slow request still gets its answer.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import bearer
from tests.faults.load import admin_token
from tests.server_processes import server_process

pytestmark = pytest.mark.slow

CLIENTS = 6
SLOW_MS = 2000  # keeps a worker, and with it the supervisor, alive well after the signal
AFTER_SIGNAL_SECONDS = SLOW_MS / 1000 + 1.5


@dataclass(frozen=True)
class Attempt:
    started: float
    outcome: str  # "answered", "refused" or the error that ended it


def _hammer(url: str, stop: threading.Event, attempts: list[Attempt]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        try:
            # A new connection each time: what reaches a draining server from a load balancer or a new client.
            response = httpx.get(f"{url}/health", timeout=10, headers={"Connection": "close"})
            outcome = "answered" if response.status_code == 200 else f"status {response.status_code}"
        except httpx.ConnectError as error:
            outcome = "refused" if "refused" in str(error).lower() else f"ConnectError: {error}"
            time.sleep(0.01)
        except httpx.HTTPError as error:
            outcome = type(error).__name__
        attempts.append(Attempt(started, outcome))


def test_after_sigterm_new_connections_are_answered_or_refused_and_in_flight_requests_finish(tmp_path: Path) -> None:
    attempts: list[Attempt] = []
    stop = threading.Event()
    slow: dict[str, object] = {}
    with server_process(data_dir=tmp_path / "data", WORKERS="2", SHUTDOWN_GRACE_SECONDS="10") as server:
        token = admin_token(server.url)

        def slow_request() -> None:
            try:
                response = httpx.get(
                    f"{server.url}/api/v1/demo/blocking?delay_ms={SLOW_MS}", headers=bearer(token), timeout=15
                )
                slow["status"] = response.status_code
            except httpx.HTTPError as error:
                slow["status"] = type(error).__name__

        clients = [threading.Thread(target=_hammer, args=(server.url, stop, attempts)) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        straggler = threading.Thread(target=slow_request)
        straggler.start()
        time.sleep(0.5)  # the load is steady and the slow request is on a worker
        signalled_at = time.monotonic()
        server.process.send_signal(signal.SIGTERM)
        time.sleep(AFTER_SIGNAL_SECONDS)
        stop.set()
        for client in [*clients, straggler]:
            client.join(timeout=15)
        server.process.wait(timeout=15)

    after = Counter(a.outcome for a in attempts if a.started >= signalled_at)
    assert Counter(a.outcome for a in attempts if a.started < signalled_at - 0.2)["answered"] > 0
    assert set(after) <= {"answered", "refused"}, f"after SIGTERM: {dict(after)}"
    assert after["refused"] > 0, f"the socket was never closed after SIGTERM: {dict(after)}"
    assert slow["status"] == 200
