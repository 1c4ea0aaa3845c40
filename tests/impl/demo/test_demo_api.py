"""The demo operations over a real socket: right answers, the thread and process pools used, bounded CPU queue."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.impl.demo.conftest import served
from tests.live_server import LiveServer

# asyncio may wake a sleeper up to its clock resolution early (it rounds timers to it): a millisecond, not a bug.
CLOCK_SLACK_MS = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    with served(tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.mark.parametrize("mode", ["async", "blocking"])
def test_a_simulated_call_takes_its_delay_and_reports_it(server: tuple[LiveServer, dict[str, str]], mode: str) -> None:
    live, auth = server
    response = httpx.get(f"{live.url}/api/v1/demo/{mode}", params={"delay_ms": 50}, headers=auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mode"] == mode
    assert body["delay_ms"] == 50
    assert 50 - CLOCK_SLACK_MS <= body["elapsed_ms"] < 5000


def test_the_delay_defaults_to_100_ms(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, auth = server
    body = httpx.get(f"{live.url}/api/v1/demo/async", headers=auth).json()
    assert body["delay_ms"] == 100
    assert body["elapsed_ms"] >= 100 - CLOCK_SLACK_MS


@pytest.mark.slow  # the pool's worker processes
@pytest.mark.parametrize(("n", "primes"), [(1, 0), (10, 4), (1000, 168), (1_000_000, 78498)])
def test_cpu_work_counts_the_primes_up_to_n(server: tuple[LiveServer, dict[str, str]], n: int, primes: int) -> None:
    live, auth = server
    response = httpx.post(f"{live.url}/api/v1/demo/cpu", json={"n": n}, headers=auth, timeout=30)
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["n"], body["primes"]) == (n, primes)
    assert body["elapsed_ms"] >= 0


@pytest.mark.parametrize(
    ("method", "path", "params", "body", "where"),
    [
        ("GET", "async", {"delay_ms": "2001"}, None, {"parameter": "delay_ms"}),
        ("GET", "blocking", {"delay_ms": "-1"}, None, {"parameter": "delay_ms"}),
        ("GET", "blocking", {"delay_ms": "soon"}, None, {"parameter": "delay_ms"}),
        ("POST", "cpu", None, {"n": 0}, {"pointer": "#/n"}),
        ("POST", "cpu", None, {"n": 1_000_001}, {"pointer": "#/n"}),
        ("POST", "cpu", None, {"n": "10"}, {"pointer": "#/n"}),
        ("POST", "cpu", None, {"n": 10, "extra": 1}, {"pointer": "#/extra"}),
        ("POST", "cpu", None, {}, {"pointer": "#/n"}),
    ],
)
def test_out_of_range_input_is_a_422_problem_naming_the_field(
    server: tuple[LiveServer, dict[str, str]],
    method: str,
    path: str,
    params: dict[str, str] | None,
    body: dict[str, object] | None,
    where: dict[str, str],
) -> None:
    live, auth = server
    response = httpx.request(method, f"{live.url}/api/v1/demo/{path}", params=params, json=body, headers=auth)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert [{k: e[k] for k in where} for e in response.json()["errors"]] == [where]


@pytest.mark.parametrize(("method", "path"), [("GET", "async"), ("GET", "blocking"), ("POST", "cpu")])
def test_every_demo_operation_needs_a_token(server: tuple[LiveServer, dict[str, str]], method: str, path: str) -> None:
    live, _ = server
    response = httpx.request(method, f"{live.url}/api/v1/demo/{path}", json={"n": 10} if method == "POST" else None)
    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


def test_blocking_calls_run_side_by_side_in_the_thread_pool(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, auth = server

    async def scenario() -> float:
        async with httpx.AsyncClient(base_url=live.url, headers=auth, timeout=30) as client:
            started = time.perf_counter()
            responses = await asyncio.gather(
                *(client.get("/api/v1/demo/blocking", params={"delay_ms": 300}) for _ in range(8))
            )
            assert [r.status_code for r in responses] == [200] * 8
            return time.perf_counter() - started

    # One after another they would take 2.4 s; on the loop itself too. Side by side: about 0.3 s.
    assert asyncio.run(scenario()) < 1.5


@pytest.mark.slow  # the pool's worker processes
def test_more_cpu_jobs_than_the_bound_get_503_with_retry_after_and_the_rest_succeed(tmp_path: Path) -> None:
    async def scenario(live: LiveServer, auth: dict[str, str]) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=live.url, headers=auth, timeout=60) as client:
            return await asyncio.gather(*(client.post("/api/v1/demo/cpu", json={"n": 1_000_000}) for _ in range(12)))

    # One worker: at most 1 running + 4 waiting. Twelve at once (each ~0.1 s of CPU) cannot all fit.
    with served(tmp_path / "data", cpu_pool_workers=1) as (live, auth):
        responses = asyncio.run(scenario(live, auth))
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) == {200, 503}, statuses
    assert statuses.count(200) >= 5
    for response in responses:
        if response.status_code == 200:
            assert response.json()["primes"] == 78498
        else:
            assert response.headers["retry-after"] == "1"
            assert response.headers["content-type"] == "application/problem+json"
            assert response.json()["status"] == 503
