"""POST /api/v1/demo/statistics over a real socket: exact answers, Python's `statistics` as the oracle, every limit a
declared 4xx, and a full pool answered 503 before any work starts."""

from __future__ import annotations

import asyncio
import json
import math
import random
import statistics
import uuid
from bisect import bisect_right
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from starlette.requests import Request

from generated.api._support import Principal
from impl.demo.cpu_pool import CpuPool
from impl.demo.errors import BodyIncompleteError, WorkerPoolBusyError
from impl.demo.service import STATISTICS_MAX_BODY_BYTES, DemoService
from tests.impl.demo.conftest import served
from tests.impl.demo.jobs import run_until_released
from tests.live_server import LiveServer

pytestmark = pytest.mark.slow  # the pool's worker processes
PATH = "/api/v1/demo/statistics"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    with served(tmp_path_factory.mktemp("statistics")) as running:
        yield running


def post(server: tuple[LiveServer, dict[str, str]], content: bytes | str, **headers: str) -> httpx.Response:
    live, auth = server
    sent = {"content-type": "application/json", **auth, **headers}
    return httpx.post(f"{live.url}{PATH}", content=content, headers=sent, timeout=60)


def describe(server: tuple[LiveServer, dict[str, str]], **body: Any) -> dict[str, Any]:
    response = post(server, json.dumps(body))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_a_small_series_gets_its_hand_computed_statistics(server: tuple[LiveServer, dict[str, str]]) -> None:
    # 2 4 4 4 5 5 7 9: mean 5, squared deviations 9 1 1 1 0 0 4 16 = 32, so pstdev sqrt(32/8) = 2 and stdev
    # sqrt(32/7). Inclusive percentiles at rank p/100 * 7: 25 -> 1.75 (4), 50 -> 3.5 (4.5), 75 -> 5.25 (5.5).
    body = describe(server, values=[9, 4, 5, 4, 2, 7, 4, 5], percentiles=[0, 25, 50, 75, 100], bins=7)
    assert body["count"] == 8
    assert body["mean"] == 5
    assert body["pstdev"] == 2
    assert body["stdev"] == pytest.approx(math.sqrt(32 / 7), rel=1e-15)
    assert (body["min"], body["max"]) == (2, 9)
    assert body["percentiles"] == [
        {"percentile": 0, "value": 2},
        {"percentile": 25, "value": 4},
        {"percentile": 50, "value": 4.5},
        {"percentile": 75, "value": 5.5},
        {"percentile": 100, "value": 9},
    ]
    # Unit-wide bins from 2 to 9; the last one includes 9.
    assert body["histogram"] == {"edges": [2, 3, 4, 5, 6, 7, 8, 9], "counts": [1, 0, 3, 2, 0, 1, 1]}
    assert body["elapsed_ms"] >= 0


def test_defaults_are_the_quartiles_and_ten_bins_and_one_value_has_no_sample_deviation(
    server: tuple[LiveServer, dict[str, str]],
) -> None:
    body = describe(server, values=[3.5])
    assert (body["count"], body["mean"], body["stdev"], body["pstdev"]) == (1, 3.5, None, 0)
    assert [p["percentile"] for p in body["percentiles"]] == [25, 50, 75]
    assert [p["value"] for p in body["percentiles"]] == [3.5, 3.5, 3.5]
    # One distinct value spans value +- 0.5, as NumPy's histogram does.
    assert (body["histogram"]["edges"][0], body["histogram"]["edges"][-1]) == (3, 4)
    assert body["histogram"]["counts"] == [0] * 5 + [1] + [0] * 4


def test_random_series_agree_with_pythons_statistics_module(server: tuple[LiveServer, dict[str, str]]) -> None:
    rng = random.Random(22)  # noqa: S311 - fixed sample series, not a secret
    for size, spread in [(2, 1.0), (1001, 1e-3), (20_000, 1e6)]:
        values = [rng.gauss(rng.uniform(-100, 100), spread) for _ in range(size)]
        wanted = [1, 5, 10, 33.3, 50, 90, 99]
        body = describe(server, values=values, percentiles=wanted, bins=13)
        assert body["count"] == size
        assert body["mean"] == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert body["stdev"] == pytest.approx(statistics.stdev(values), rel=1e-9)
        assert body["pstdev"] == pytest.approx(statistics.pstdev(values), rel=1e-9)
        assert (body["min"], body["max"]) == (min(values), max(values))
        # quantiles(n=1000) has a cut point at every 0.1 %: cut k is the percentile k / 10.
        cuts = statistics.quantiles(values, n=1000, method="inclusive")
        for reported, p in zip(body["percentiles"], wanted, strict=True):
            assert reported["percentile"] == p
            assert reported["value"] == pytest.approx(cuts[round(p * 10) - 1], rel=1e-12, abs=1e-12)
        edges = body["histogram"]["edges"]
        expected = [0] * 13
        for value in values:  # [edge i, edge i+1), the last bin closed
            expected[min(bisect_right(edges, value) - 1, 12)] += 1
        assert body["histogram"]["counts"] == expected
        assert (edges[0], edges[-1]) == (min(values), max(values))


def first_error(response: httpx.Response, status: int) -> dict[str, str]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    errors: list[dict[str, str]] = response.json()["errors"]
    return errors[0]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ('{"values": [1, 2, 3, NaN, 5]}', "#/values/3"),
        ('{"values": [1, Infinity]}', "#/values/1"),
        ('{"values": [-Infinity]}', "#/values/0"),
        ('{"values": [1, 2, 1e400]}', "#/values/2"),  # parses as infinity
        ('{"values": [0, 2e150]}', "#/values/1"),
        ('{"values": [1, "2"]}', "#/values/1"),
        ('{"values": [true]}', "#/values/0"),
        ('{"values": [1, null]}', "#/values/1"),
        ('{"values": []}', "#/values"),
        ('{"values": "1,2"}', "#/values"),
        ('{"bins": 3}', "#/values"),
        ('{"values": [1], "bins": 0}', "#/bins"),
        ('{"values": [1], "bins": 1001}', "#/bins"),
        ('{"values": [1], "percentiles": [50, 100.5]}', "#/percentiles/1"),
        ('{"values": [1], "extra": 1}', "#/extra"),
        ('{"values": [1], "percentiles": null}', "#/percentiles"),
        ("[1, 2, 3]", "#"),
    ],
)
def test_bad_input_is_a_422_whose_first_error_points_at_the_first_bad_place(
    server: tuple[LiveServer, dict[str, str]], body: str, pointer: str
) -> None:
    assert first_error(post(server, body), 422)["pointer"] == pointer


def test_non_finite_values_are_named_as_such_and_only_the_first_ten_errors_are_listed(
    server: tuple[LiveServer, dict[str, str]],
) -> None:
    response = post(server, '{"values": [1, NaN, ' + ", ".join(["Infinity"] * 50) + "]}")
    errors = response.json()["errors"]
    assert [e["pointer"] for e in errors] == [f"#/values/{i}" for i in range(1, 11)]
    assert errors[0]["detail"] == "Input should be a finite number from -1e+150 to 1e+150"


def test_a_million_values_are_accepted_and_one_more_is_refused(server: tuple[LiveServer, dict[str, str]]) -> None:
    body = describe(server, values=[1] * 500_000 + [3] * 500_000, percentiles=[50], bins=2)
    assert (body["count"], body["mean"], body["pstdev"]) == (1_000_000, 2, 1)
    assert body["histogram"]["counts"] == [500_000, 500_000]
    assert first_error(post(server, json.dumps({"values": [0] * 1_000_001})), 422)["pointer"] == "#/values"


@pytest.mark.parametrize(
    ("content", "headers", "status"),
    [
        ('{"values": [1, 2', {}, 400),
        ("\xff", {}, 400),
        ('{"values": [1]}', {"content-type": "text/plain"}, 415),
        (" " * (STATISTICS_MAX_BODY_BYTES + 1), {}, 413),
    ],
)
def test_malformed_unsupported_and_oversized_bodies_get_their_declared_problem(
    server: tuple[LiveServer, dict[str, str]], content: str, headers: dict[str, str], status: int
) -> None:
    response = post(server, content.encode("latin-1"), **headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"


def test_a_body_under_the_cap_but_over_the_default_limit_is_read(server: tuple[LiveServer, dict[str, str]]) -> None:
    padded = '{"values": [1, 2]' + " " * (2 * 1024 * 1024) + "}"
    assert post(server, padded).status_code == 200


def test_the_operation_needs_a_token(server: tuple[LiveServer, dict[str, str]]) -> None:
    live, _ = server
    response = httpx.post(f"{live.url}{PATH}", json={"values": [1]})
    assert response.status_code == 401


def request_with_body(body: bytes, *, then_disconnect: bool = False) -> Request:
    messages: list[dict[str, Any]] = [
        {"type": "http.request", "body": body, "more_body": then_disconnect},
        {"type": "http.disconnect"},
    ]

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "path": PATH, "headers": []}, receive)


PRINCIPAL = Principal(subject=uuid.uuid4(), role="user", token_id="t", family_id="f", expires_at=0)


def test_a_client_that_leaves_mid_body_gets_a_400_and_starts_no_job() -> None:
    async def scenario() -> None:
        pool = CpuPool(workers=1)
        try:
            request = request_with_body(b'{"values": [1, ', then_disconnect=True)
            with pytest.raises(BodyIncompleteError):
                await DemoService(cpu_pool=pool).demo_statistics(request=request, principal=PRINCIPAL)
            assert not pool.started
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_a_full_pool_refuses_the_job_with_503_before_any_work_and_serves_it_once_a_slot_frees(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        pool = CpuPool(workers=1, max_waiting=0)
        service = DemoService(cpu_pool=pool)
        principal = PRINCIPAL
        try:
            holding = asyncio.ensure_future(pool.run(run_until_released, str(tmp_path)))
            while not (tmp_path / "started").exists():  # noqa: ASYNC110 - a file from another process
                await asyncio.sleep(0.01)
            with pytest.raises(WorkerPoolBusyError) as refused:
                await service.demo_statistics(request=request_with_body(b'{"values": [1]}'), principal=principal)
            assert refused.value.headers == {"Retry-After": "1"}
            (tmp_path / "release").touch()
            await holding
            request = request_with_body(b'{"values": [1, 3]}')
            answer = await service.demo_statistics(request=request, principal=principal)
            assert (answer.count, answer.mean) == (2, 2)
        finally:
            await pool.close()

    asyncio.run(scenario())
