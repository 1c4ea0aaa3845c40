"""The per-request budget: 504 problem when no answer has begun in time; a begun answer (a stream) runs on."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.app import create_app
from impl.platform.middleware.edge import EdgeMiddleware
from impl.platform.middleware.request_timeout import RequestDeadlines
from impl.platform.middleware.security_headers import SecurityHeaders
from tests.conftest import bearer, sign_in, test_settings

# Bare ASGI apps without a lifespan, behind the edge that keeps the budget: the clients below are used without
# `with`, so none is sent.


def budgeted(app: ASGIApp, *, timeout_seconds: float) -> tuple[EdgeMiddleware, RequestDeadlines]:
    deadlines = RequestDeadlines(timeout_seconds=timeout_seconds)
    return EdgeMiddleware(app, security=SecurityHeaders(), deadlines=deadlines), deadlines


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
    response = TestClient(budgeted(slow, timeout_seconds=0.1)[0]).get("/slow")

    assert response.status_code == 504
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == "The request took longer than 0.1 s and was abandoned."


def test_an_answer_that_has_begun_is_not_cut_by_the_budget() -> None:
    response = TestClient(budgeted(streams_slowly, timeout_seconds=0.15)[0]).get("/stream")

    assert response.status_code == 200
    assert response.text == "tick\n" * 3


def test_a_timeout_that_is_not_the_budget_is_not_turned_into_504() -> None:
    client = TestClient(budgeted(its_own_timeout, timeout_seconds=5)[0])
    with pytest.raises(TimeoutError, match="dependency's own"):
        client.get("/")


def test_the_service_answers_504_with_its_headers_and_keeps_serving(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data", request_timeout_seconds=0.2))
    with TestClient(app, raise_server_exceptions=False) as client:
        token = sign_in(client)
        late = client.get("/api/v1/demo/async", params={"delay_ms": 1000}, headers=bearer(token))
        on_time = client.get("/api/v1/demo/async", params={"delay_ms": 0}, headers=bearer(token))

    assert late.status_code == 504
    assert late.headers["content-type"] == "application/problem+json"
    assert late.headers["X-Request-ID"]
    assert late.headers["X-Content-Type-Options"] == "nosniff"
    assert on_time.status_code == 200


def test_a_504_carries_the_cors_headers_a_browser_needs_to_read_it(tmp_path: Path) -> None:
    origin = "https://app.example"
    app = create_app(test_settings(tmp_path / "data", request_timeout_seconds=0.2, cors_allow_origins=[origin]))
    with TestClient(app, raise_server_exceptions=False) as client:
        token = sign_in(client)
        late = client.get("/api/v1/demo/async", params={"delay_ms": 1000}, headers={**bearer(token), "Origin": origin})

    assert late.status_code == 504
    assert late.headers["Access-Control-Allow-Origin"] == origin
    assert "X-Request-ID" in late.headers["Access-Control-Expose-Headers"]


SLOW_SCOPE: Scope = {"type": "http", "method": "GET", "path": "/slow", "headers": [], "query_string": b""}


def plumbing() -> tuple[Receive, Send, list[Message]]:
    """An empty request body to receive, and a send that keeps what it is given."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    return receive, send, sent


def test_the_deadline_table_empties_and_its_watcher_stops_when_nothing_is_in_flight() -> None:
    middleware, deadlines = budgeted(slow, timeout_seconds=0.05)

    async def scenario() -> None:
        receive, send, sent = plumbing()
        # Two requests at once: both overrun; each gets its own 504, from the one watcher of this loop.
        await asyncio.gather(middleware(dict(SLOW_SCOPE), receive, send), middleware(dict(SLOW_SCOPE), receive, send))
        assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [504, 504]
        (watch,) = deadlines.watches.values()
        assert watch.deadlines == {}
        assert watch.expired == set()
        assert watch.watcher is not None
        await asyncio.wait_for(watch.watcher, timeout=1)  # it ends by itself once the table is empty

    asyncio.run(scenario())


def test_a_request_cancelled_for_another_reason_is_not_answered_504() -> None:
    middleware, deadlines = budgeted(slow, timeout_seconds=5)

    async def scenario() -> None:
        receive, send, sent = plumbing()
        request = asyncio.create_task(middleware(dict(SLOW_SCOPE), receive, send))
        await asyncio.sleep(0.05)
        request.cancel()  # the client went away, or the server is stopping
        with pytest.raises(asyncio.CancelledError):
            await request
        assert sent == []
        (watch,) = deadlines.watches.values()
        assert watch.deadlines == {}

    asyncio.run(scenario())
