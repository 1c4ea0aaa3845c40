"""The guard leaves the RateLimit headers in the scope's state; the middleware puts them on whatever answer leaves."""

from __future__ import annotations

import asyncio

from starlette.types import Message, Receive, Scope, Send

from impl.platform.middleware.rate_limit_headers import RATE_LIMIT_STATE, RateLimitHeadersMiddleware

LIMITS = {"RateLimit-Policy": '"general";q=100;w=60', "RateLimit": '"general";r=99;t=60'}


def answering(limits: dict[str, str] | None, headers: list[tuple[bytes, bytes]]) -> RateLimitHeadersMiddleware:
    """A tiny app that records ``limits`` as a guard would, then answers 200 with ``headers``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if limits is not None:
            scope.setdefault("state", {})[RATE_LIMIT_STATE] = limits
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": b"ok"})

    return RateLimitHeadersMiddleware(app)


def call(middleware: RateLimitHeadersMiddleware, scope_type: str = "http") -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(middleware({"type": scope_type, "path": "/", "headers": []}, receive, send))
    return sent


def test_the_recorded_headers_are_added_to_the_response() -> None:
    start, body = call(answering(LIMITS, [(b"content-type", b"text/plain")]))
    assert start["headers"] == [
        (b"content-type", b"text/plain"),
        (b"ratelimit-policy", b'"general";q=100;w=60'),
        (b"ratelimit", b'"general";r=99;t=60'),
    ]
    assert body == {"type": "http.response.body", "body": b"ok"}


def test_a_header_the_response_already_has_wins() -> None:
    # A 429 raised by the guard carries its own RateLimit and Retry-After; they are not doubled.
    own = [(b"ratelimit", b'"general";r=0;t=5'), (b"retry-after", b"5")]
    limits = {**LIMITS, "Retry-After": "60"}
    (start, _) = call(answering(limits, own))
    assert start["headers"] == [*own, (b"ratelimit-policy", b'"general";q=100;w=60')]


def test_nothing_is_added_when_nothing_was_counted() -> None:
    (start, _) = call(answering(None, [(b"content-type", b"text/plain")]))
    assert start["headers"] == [(b"content-type", b"text/plain")]
    (start, _) = call(answering({}, []))
    assert start["headers"] == []


def test_other_scopes_pass_through_untouched() -> None:
    sent = call(answering(LIMITS, []), scope_type="websocket")
    assert sent[0]["headers"] == []
