"""The guard leaves the RateLimit headers in the scope's state; the edge middleware puts them on whatever answer
leaves."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from impl.platform.middleware.edge import EdgeMiddleware
from impl.platform.middleware.rate_limit_headers import RATE_LIMIT_STATE, with_rate_limits
from impl.platform.middleware.security_headers import SecurityHeaders

pytestmark = pytest.mark.unit

LIMITS = {"RateLimit-Policy": '"general";q=100;w=60', "RateLimit": '"general";r=99;t=60'}


def test_the_recorded_headers_are_added_to_the_response() -> None:
    headers = with_rate_limits({"state": {RATE_LIMIT_STATE: LIMITS}}, [(b"content-type", b"text/plain")])
    assert headers == [
        (b"content-type", b"text/plain"),
        (b"ratelimit-policy", b'"general";q=100;w=60'),
        (b"ratelimit", b'"general";r=99;t=60'),
    ]


def test_a_header_the_response_already_has_wins() -> None:
    # A 429 raised by the guard carries its own RateLimit and Retry-After; they are not doubled.
    own = [(b"ratelimit", b'"general";r=0;t=5'), (b"retry-after", b"5")]
    limits = {**LIMITS, "Retry-After": "60"}
    assert with_rate_limits({"state": {RATE_LIMIT_STATE: limits}}, own) == [
        *own,
        (b"ratelimit-policy", b'"general";q=100;w=60'),
    ]


def test_nothing_is_added_when_nothing_was_counted() -> None:
    assert with_rate_limits({}, [(b"content-type", b"text/plain")]) == [(b"content-type", b"text/plain")]
    assert with_rate_limits({"state": {}}, []) == []
    assert with_rate_limits({"state": {RATE_LIMIT_STATE: {}}}, []) == []


def test_the_edge_adds_them_to_any_answer_even_a_crash() -> None:
    async def counted(request: Request) -> PlainTextResponse:
        request.scope.setdefault("state", {})[RATE_LIMIT_STATE] = LIMITS
        return PlainTextResponse("ok")

    async def counted_then_crashed(request: Request) -> PlainTextResponse:
        request.scope.setdefault("state", {})[RATE_LIMIT_STATE] = LIMITS
        raise RuntimeError("a bug")

    inner = Starlette(routes=[Route("/ok", counted), Route("/boom", counted_then_crashed)])
    client = TestClient(EdgeMiddleware(ServerErrorMiddleware(inner), security=SecurityHeaders()))
    client_500 = TestClient(
        EdgeMiddleware(ServerErrorMiddleware(inner), security=SecurityHeaders()), raise_server_exceptions=False
    )
    for response in (client.get("/ok"), client_500.get("/boom")):
        assert response.headers["ratelimit-policy"] == '"general";q=100;w=60'
        assert response.headers["ratelimit"] == '"general";r=99;t=60'
    assert client.get("/ok").status_code == 200
