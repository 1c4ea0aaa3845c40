"""The per-request budget: 504 problem when no answer has begun in time; a begun answer (a stream) runs on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from impl.app import create_app
from impl.platform.middleware.request_timeout import RequestTimeoutMiddleware
from tests.conftest import bearer, sign_in, test_settings

# Bare ASGI apps without a lifespan: the clients below are used without `with`, so none is sent.


async def slow(scope: Scope, receive: Receive, send: Send) -> None:
    await asyncio.sleep(5)


async def streams_slowly(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    for _ in range(3):
        await asyncio.sleep(0.1)
        await send({"type": "http.response.body", "body": b"tick\n", "more_body": True})
    await send({"type": "http.response.body", "body": b""})


async def its_own_timeout(scope: Scope, receive: Receive, send: Send) -> None:
    raise TimeoutError("the dependency's own timeout")


def test_a_request_past_its_budget_gets_a_504_problem() -> None:
    response = TestClient(RequestTimeoutMiddleware(slow, timeout_seconds=0.1)).get("/slow")

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The request took longer than 0.1 s and was abandoned."


def test_an_answer_that_has_begun_is_not_cut_by_the_budget() -> None:
    response = TestClient(RequestTimeoutMiddleware(streams_slowly, timeout_seconds=0.15)).get("/stream")

    assert response.status_code == 200
    assert response.text == "tick\n" * 3


def test_a_timeout_that_is_not_the_budget_is_not_turned_into_504() -> None:
    client = TestClient(RequestTimeoutMiddleware(its_own_timeout, timeout_seconds=5))
    with pytest.raises(TimeoutError, match="dependency's own"):
        client.get("/")


def test_the_service_answers_504_with_its_headers_and_keeps_serving(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data", request_timeout_seconds=0.2))
    with TestClient(app, raise_server_exceptions=False) as client:
        token = sign_in(client)
        late = client.get("/api/v1/demo/async", params={"delay_ms": 1000}, headers=bearer(token))
        on_time = client.get("/api/v1/demo/async", params={"delay_ms": 0}, headers=bearer(token))

    assert late.status_code == 504
    assert late.headers["X-Request-ID"]
    assert late.headers["X-Content-Type-Options"] == "nosniff"
    assert on_time.status_code == 200
