"""Refuse request bodies over the configured size with 413, before they are buffered."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.platform.problems import problem

HTTP1 = frozenset({"1.0", "1.1"})


class ContentTooLargeError(HTTPException):
    """Raised from ``receive`` once a streamed body passes the limit; FastAPI re-raises HTTPExceptions as they are."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"The request body exceeds the limit of {limit} bytes.")


class BodyLimitMiddleware:
    """A declared ``Content-Length`` over the limit is refused at once, without reading the body; a chunked body
    is counted as it streams and refused the moment it passes the limit.

    ``limits_by_path`` gives exact paths their own limit (uploads take far more than a JSON body may): the
    platform knows no route, the app factory says which paths stream large bodies and how large.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, limits_by_path: Mapping[str, int] | None = None) -> None:
        self.app = app
        self.limit = max_body_bytes
        self.limits_by_path = dict(limits_by_path or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limits_by_path.get(scope["path"], self.limit)
        declared = chunked = None
        for name, value in scope["headers"]:
            if name == b"content-length" and declared is None:
                declared = value
            elif name == b"transfer-encoding":
                chunked = value
        # The server (uvicorn) already rejects a malformed Content-Length; a well-formed one is trusted for the
        # early refusal and the body is still counted below when it could be longer.
        if declared is not None and declared.isdigit() and int(declared) > limit:
            detail = f"The request body exceeds the limit of {limit} bytes."
            await problem(413, detail=detail, instance=scope["path"])(scope, receive, send)
            return
        if chunked is None and scope.get("http_version") in HTTP1 and (declared is None or declared.isdigit()):
            # HTTP/1.x frames a body by Content-Length or chunked transfer coding (RFC 9112 §6.3): without the
            # latter, the server delivers exactly the declared bytes (or none), already checked. Nothing to count,
            # and no wrappers for the request to pass through (most requests: every GET).
            await self.app(scope, receive, send)
            return

        received = 0
        response_started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ContentTooLargeError(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except ContentTooLargeError as error:
            # The app read the body outside FastAPI's handlers (which turn this into the same problem themselves).
            if response_started:
                raise
            await problem(413, detail=str(error.detail), instance=scope["path"])(scope, receive, send)
