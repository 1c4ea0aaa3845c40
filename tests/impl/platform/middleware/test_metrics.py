"""The edge middleware's request metrics on a bare Starlette app: every answer is counted once, failures included.

Counts reach the registry when the app's pipeline of answered requests is flushed (at the end of the loop's
iteration, or first thing in a scrape); these tests read the registry after flushing it, as a scrape does.
"""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route
from starlette.testclient import TestClient
from starlette.types import Message

from impl.platform.metrics import Metrics
from impl.platform.middleware.answered import AnsweredRequests
from impl.platform.middleware.edge import EdgeMiddleware
from impl.platform.middleware.metrics import UNMATCHED, RequestMetrics
from impl.platform.middleware.security_headers import SecurityHeaders

pytestmark = pytest.mark.unit


async def item(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.path_params["item_id"])


async def asset(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.path_params["name"])


async def boom(_request: Request) -> PlainTextResponse:
    raise RuntimeError("a bug")


class Counted:
    """The edge's metrics and the pipeline that brings its records to them."""

    def __init__(self) -> None:
        self.metrics = Metrics()
        self.answered = AnsweredRequests(metrics=RequestMetrics(self.metrics), access_log=None)

    @property
    def registry(self) -> CollectorRegistry:
        self.answered.flush()
        return self.metrics.registry


def instrumented() -> tuple[Counted, TestClient]:
    metrics = Counted()
    app = Starlette(
        routes=[
            Route("/items/{item_id}", item),
            Route("/boom", boom),
            Mount("/static", routes=[Route("/{name}", asset)]),
            Mount("/files", app=PlainTextResponse("a mounted app")),
        ]
    )
    return metrics, TestClient(
        EdgeMiddleware(app, security=SecurityHeaders(), answered=metrics.answered), raise_server_exceptions=False
    )


def count(metrics: Counted, **labels: str) -> float | None:
    return metrics.registry.get_sample_value("charter_http_requests_total", labels)


def test_requests_are_labelled_with_the_route_template() -> None:
    metrics, client = instrumented()
    for item_id in ("1", "2", "3"):
        assert client.get(f"/items/{item_id}").status_code == 200
    assert count(metrics, method="GET", route="/items/{item_id}", status="200") == 3
    assert (
        metrics.registry.get_sample_value(
            "charter_http_request_duration_seconds_count", {"method": "GET", "route": "/items/{item_id}"}
        )
        == 3
    )


def test_an_unhandled_error_is_counted_as_a_500_and_leaves_nothing_in_flight() -> None:
    metrics, client = instrumented()
    assert client.get("/boom").status_code == 500
    assert count(metrics, method="GET", route="/boom", status="500") == 1
    assert metrics.answered.metrics is not None
    assert metrics.answered.metrics.in_flight == 0


def test_a_path_no_route_matches_is_unmatched() -> None:
    metrics, client = instrumented()
    assert client.get("/nothing/here").status_code == 404
    assert count(metrics, method="GET", route=UNMATCHED, status="404") == 1


def test_routes_inside_mounts_are_labelled_with_the_whole_template() -> None:
    metrics, client = instrumented()
    assert client.get("/static/logo.svg").status_code == 200
    assert client.get("/files/a/b.txt").status_code == 200
    assert count(metrics, method="GET", route="/static/{name}", status="200") == 1
    assert count(metrics, method="GET", route="/files/{path}", status="200") == 1


def test_answers_of_one_iteration_are_counted_at_its_end_or_when_flushed_first() -> None:
    metrics = Counted()
    edge = EdgeMiddleware(
        Starlette(routes=[Route("/items/{item_id}", item)]), security=SecurityHeaders(), answered=metrics.answered
    )
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/items/7",
        "root_path": "",
        "query_string": b"",
        "headers": [],
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    def unflushed() -> float | None:
        return metrics.metrics.registry.get_sample_value(
            "charter_http_requests_total", {"method": "GET", "route": "/items/{item_id}", "status": "200"}
        )

    async def two_iterations() -> list[float | None]:
        await edge(scope, receive, send)  # nothing in it waits: the iteration has not ended
        during = unflushed()
        await asyncio.sleep(0)  # the iteration ends
        after = unflushed()
        await edge(scope, receive, send)
        return [during, after, count(metrics, method="GET", route="/items/{item_id}", status="200")]

    assert asyncio.run(two_iterations()) == [None, 1, 2]
    assert count(metrics, method="GET", route="/items/{item_id}", status="200") == 2  # each counted once
