"""/metrics over the real app: what each counter and gauge says after real requests, and who may read it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, sign_in, test_settings
from tests.impl.platform.metrics_scrape import sample
from tests.live_server import live_server

METRICS_TOKEN = "a-metrics-token-for-the-tests"  # nosec B105 - a test fixture
USERS = "/api/v1/users"


def client_for(tmp_path: Path, **overrides: Any) -> TestClient:
    return TestClient(create_app(test_settings(tmp_path / "data", **overrides)), raise_server_exceptions=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with client_for(tmp_path) as test_client:
        yield test_client


def scrape(client: TestClient, **headers: str) -> str:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.text
    return response.text


def test_metrics_are_the_prometheus_text_format_with_the_charter_prefix(client: TestClient) -> None:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    names = {line.split()[2] for line in response.text.splitlines() if line.startswith("# TYPE")}
    assert names
    # The service's own metrics are prefixed; prometheus-client's standard process collector keeps its names
    # (process_cpu_seconds_total, ...), which dashboards and alerts expect as they are.
    standard = {name for name in names if name.startswith("process_")}
    assert "process_resident_memory_bytes" in standard
    assert all(name.startswith("charter_") for name in names - standard)


def test_requests_are_counted_by_route_template_never_by_raw_path(client: TestClient) -> None:
    token = sign_in(client)
    ids = [str(uuid.uuid4()) for _ in range(2)]
    assert [client.get(f"{USERS}/{user_id}", headers=bearer(token)).status_code for user_id in ids] == [404, 404]

    text = scrape(client)
    labels = {"method": "GET", "route": "/api/v1/users/{user_id}"}
    assert sample(text, "charter_http_requests_total", status="404", **labels) == 2
    assert sample(text, "charter_http_request_duration_seconds_count", **labels) == 2
    assert sample(text, "charter_http_requests_total", method="POST", route="/api/v1/auth/login", status="200") == 1
    assert not any(user_id in text for user_id in ids)


def test_unmatched_paths_and_unknown_methods_do_not_make_new_series(client: TestClient) -> None:
    client.get(f"/no/such/{uuid.uuid4()}")
    client.get(f"/no/such/{uuid.uuid4()}")
    client.request("BREW", "/health")

    text = scrape(client)
    assert sample(text, "charter_http_requests_total", method="GET", route="<unmatched>", status="404") == 2
    assert sample(text, "charter_http_requests_total", method="OTHER", route="/health", status="405") == 1


def test_the_documentation_assets_are_one_series_whatever_the_file(client: TestClient) -> None:
    for name in ("swagger-ui.css", "swagger-ui-bundle.js", "missing.css"):
        client.get(f"/docs/assets/{name}")

    text = scrape(client)
    total = sum(
        sample(text, "charter_http_requests_total", route="/docs/assets/{path}", status=status) or 0
        for status in ("200", "404")
    )
    assert total == 3
    assert "swagger-ui.css" not in text


def test_in_flight_counts_open_requests_and_returns_to_zero(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data", sse_tick_seconds=60, sse_heartbeat_seconds=60))
    with live_server(app) as server, httpx.Client(base_url=server.url, timeout=10.0) as client:
        login = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        token = login.json()["access_token"]
        with client.stream("GET", "/api/v1/sse/stream", headers=bearer(token)) as stream:
            lines = stream.iter_lines()  # kept: a discarded line iterator would close the response at once
            next(lines)  # the opening frame: the stream is being answered
            text = client.get("/metrics").text
            assert sample(text, "charter_http_requests_in_flight") == 2  # the stream and this scrape
            assert sample(text, "charter_sse_streams_open") == 1
        assert _eventually(lambda: sample(client.get("/metrics").text, "charter_http_requests_in_flight") == 1)
        # The server notices the client's departure on its next read or write: wait for it, bounded.
        assert _eventually(lambda: sample(client.get("/metrics").text, "charter_sse_streams_open") == 0)


def test_401s_are_counted_as_authentication_failures_by_reason(client: TestClient) -> None:
    token = sign_in(client)
    client.get("/api/v1/auth/me")
    client.get("/api/v1/auth/me", headers=bearer("not-a-token"))
    assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 401

    text = scrape(client)
    assert sample(text, "charter_auth_failures_total", reason="missing") == 1
    assert sample(text, "charter_auth_failures_total", reason="invalid") == 1
    assert sample(text, "charter_auth_failures_total", reason="revoked") == 1


def test_429s_are_counted_by_policy(tmp_path: Path) -> None:
    with client_for(tmp_path, rate_limit_enabled=True, rate_limit_auth="1/300") as client:
        wrong = {"email": "nobody@example.com", "password": "not the password at all, no"}
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 401
        assert client.post("/api/v1/auth/login", json=wrong).status_code == 429
        assert sample(scrape(client), "charter_rate_limit_rejections_total", policy="auth") == 1


def test_cache_lookups_are_counted_as_hits_and_misses(client: TestClient) -> None:
    token = sign_in(client)
    me = client.get("/api/v1/auth/me", headers=bearer(token)).json()
    before = scrape(client)
    for _ in range(3):
        assert client.get(f"{USERS}/{me['id']}", headers=bearer(token)).status_code == 200

    after = scrape(client)
    hits = (sample(after, "charter_cache_requests_total", result="hit") or 0) - (
        sample(before, "charter_cache_requests_total", result="hit") or 0
    )
    misses = (sample(after, "charter_cache_requests_total", result="miss") or 0) - (
        sample(before, "charter_cache_requests_total", result="miss") or 0
    )
    assert (misses, hits) == (1, 2)  # the first read loads and stores, the next two are served from the cache


def test_the_database_pool_and_the_event_bus_are_sampled_at_scrape_time(client: TestClient) -> None:
    text = scrape(client)
    assert sample(text, "charter_db_pool_connections", state="checked_out") == 0  # none in use between requests
    assert (sample(text, "charter_db_pool_connections", state="idle") or 0) >= 1
    assert sample(text, "charter_event_bus_subscriptions") is not None
    assert sample(text, "charter_event_bus_queued_events") == 0
    assert sample(text, "charter_event_bus_dropped_events_total") == 0
    assert sample(text, "charter_chat_connections") == 0


def test_each_app_has_its_own_registry(tmp_path: Path) -> None:
    with client_for(tmp_path / "a") as first, client_for(tmp_path / "b") as second:
        first.get("/health")
        assert sample(scrape(first), "charter_http_requests_total", route="/health") == 1
        assert sample(scrape(second), "charter_http_requests_total", route="/health") is None


class TestAccess:
    """Public in development and tests; otherwise only the metrics token opens it, compared in constant time."""

    def test_public_metrics_need_no_token_and_ignore_a_bad_one(self, client: TestClient) -> None:
        assert client.get("/metrics").status_code == 200
        assert client.get("/metrics", headers=bearer("anything")).status_code == 200

    @pytest.mark.parametrize(
        "authorization",
        [None, "Bearer wrong-token", f"Basic {METRICS_TOKEN}", f"Bearer {METRICS_TOKEN}x", "Bearer"],
    )
    def test_private_metrics_refuse_anything_but_the_token(self, tmp_path: Path, authorization: str | None) -> None:
        with client_for(tmp_path, metrics_public=False, metrics_token=METRICS_TOKEN) as client:
            response = client.get("/metrics", headers={"Authorization": authorization} if authorization else {})
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == 'Bearer realm="charter-metrics"'
        assert "charter_" not in response.text

    def test_private_metrics_open_to_the_token(self, tmp_path: Path) -> None:
        with client_for(tmp_path, metrics_public=False, metrics_token=METRICS_TOKEN) as client:
            response = client.get("/metrics", headers=bearer(METRICS_TOKEN))
        assert response.status_code == 200
        assert "charter_http_requests_total" in response.text

    def test_a_user_access_token_does_not_open_private_metrics(self, tmp_path: Path) -> None:
        with client_for(tmp_path, metrics_public=False, metrics_token=METRICS_TOKEN) as client:
            assert client.get("/metrics", headers=bearer(sign_in(client))).status_code == 401

    def test_without_a_configured_token_nobody_reads_private_metrics(self, tmp_path: Path) -> None:
        with client_for(tmp_path, metrics_public=False) as client:
            assert client.get("/metrics").status_code == 401
            assert client.get("/metrics", headers={"Authorization": "Bearer "}).status_code == 401


def _eventually(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()
