"""Several workers, one view: with PROMETHEUS_MULTIPROC_DIR shared, a scrape of any worker counts every worker."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2 as httpx
import pytest
from prometheus_client import generate_latest

from impl.platform.metrics import MULTIPROCESS_ENV, Metrics
from tests.conftest import bearer
from tests.faults.load import admin_token
from tests.impl.platform.metrics_scrape import sample
from tests.server_processes import ServerProcess, server_process
from tests.throwaway_redis import ThrowawayRedis, throwaway_redis


@pytest.fixture(scope="module")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess, ThrowawayRedis]]:
    """Two server processes sharing one metrics directory and a Redis of their own (started once: slow to start)."""
    root = tmp_path_factory.mktemp("multiprocess")
    shared = root / "prometheus"
    shared.mkdir()
    environment = {
        MULTIPROCESS_ENV: str(shared),
        "REDIS_BREAKER_FAILURE_THRESHOLD": "1",  # one outage opens a worker's breaker...
        "REDIS_BREAKER_RECOVERY_SECONDS": "300",  # ...for the rest of the module
    }
    with (
        throwaway_redis() as redis,
        server_process(data_dir=root / "a", REDIS_URL=redis.url, **environment) as first,
        server_process(data_dir=root / "b", REDIS_URL=redis.url, **environment) as second,
    ):
        yield first, second, redis


@pytest.mark.slow
def test_a_scrape_of_one_process_counts_the_requests_of_both(
    workers: tuple[ServerProcess, ServerProcess, ThrowawayRedis],
) -> None:
    first, second, _ = workers
    for server, times in ((first, 3), (second, 2)):
        for _ in range(times):
            assert httpx.get(f"{server.url}/health", timeout=10).status_code == 200

    text = httpx.get(f"{first.url}/metrics", timeout=10).text
    assert sample(text, "charter_http_requests_total", method="GET", route="/health", status="200") == 5


def _breaker_state(server: ServerProcess) -> float | None:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    return sample(text, "charter_circuit_breaker_state", dependency="redis")


@pytest.mark.slow
def test_the_breaker_state_is_the_highest_among_live_workers_never_a_sum(
    workers: tuple[ServerProcess, ServerProcess, ThrowawayRedis],
) -> None:
    first, second, redis = workers
    tokens = {server.port: bearer(admin_token(server.url)) for server in (first, second)}
    assert _breaker_state(first) == 0
    redis.kill()
    # The first worker's token check meets the dead Redis: its breaker opens (2); the second's is still closed.
    me = "/api/v1/auth/me"
    assert httpx.get(f"{first.url}{me}", headers=tokens[first.port], timeout=10).status_code == 503
    assert _breaker_state(first) == 2
    # Now both are open: still 2 ("open"), where a sum would read 4 (and, before, 2 meant "half-open").
    assert httpx.get(f"{second.url}{me}", headers=tokens[second.port], timeout=10).status_code == 503
    assert _breaker_state(second) == 2
    assert _breaker_state(first) == 2


def test_a_directory_set_after_prometheus_client_was_imported_is_refused(tmp_path: Path) -> None:
    # This test process imported prometheus_client without the variable: its values live in memory only, and a
    # "multiprocess" registry would silently report nothing of the others.
    with pytest.raises(RuntimeError, match="before the process starts"):
        Metrics(multiprocess_dir=tmp_path)


@pytest.mark.slow
def test_two_workers_without_a_metrics_directory_still_count_every_request(tmp_path: Path) -> None:
    # python -m impl sets one up for its workers: every scrape, whichever worker answers it, counts all requests.
    def health_checks(base_url: str) -> None:
        # A new connection per request, from several clients at once, so that both workers answer some.
        with httpx.Client(base_url=base_url, timeout=10, headers={"Connection": "close"}) as client:
            for _ in range(10):
                assert client.get("/health").status_code == 200

    with server_process(data_dir=tmp_path / "data", WORKERS="2", **{MULTIPROCESS_ENV: ""}) as server:
        with ThreadPoolExecutor(8) as clients:
            list(clients.map(health_checks, [server.url] * 8))
        with httpx.Client(base_url=server.url, timeout=10, headers={"Connection": "close"}) as client:
            counts = [
                sample(client.get("/metrics").text, "charter_http_requests_total", route="/health", status="200")
                for _ in range(10)
            ]
    assert counts == [80] * 10


def test_the_standard_process_metrics_are_exported() -> None:
    text = generate_latest(Metrics().registry).decode()
    assert "process_resident_memory_bytes" in text
    assert "process_cpu_seconds_total" in text
