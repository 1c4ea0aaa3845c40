"""Give every request an ID, echo it on every response, and make it available to handlers and logs."""

from __future__ import annotations

import re
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.platform.log_context import begin_request_context, end_request_context, trace_id_from

HEADER = b"x-request-id"
TRACEPARENT = b"traceparent"
# Long enough for UUIDs, W3C trace IDs and most proxies' formats; nothing that could smuggle into a log line.
WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def request_id_of(scope: Scope) -> str | None:
    """The ID the middleware gave this request (``None`` outside it)."""
    state = scope.get("state")
    return state.get("request_id") if isinstance(state, dict) else None


class RequestIdMiddleware:
    """Accepts a well-formed ``X-Request-ID`` from the client, otherwise generates one; echoes it on the response.

    It is the outermost layer, so even the 500 answer of Starlette's error middleware carries the ID.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw = next((value for name, value in scope["headers"] if name == HEADER), None)
        request_id = raw if raw is not None and WELL_FORMED.fullmatch(raw) else str(uuid.uuid4()).encode("ascii")
        scope.setdefault("state", {})["request_id"] = request_id.decode("ascii")
        # Every log line of this request (ours, the libraries') carries its ID, and the caller's trace if any.
        traceparent = next((value for name, value in scope["headers"] if name == TRACEPARENT), None)
        begin_request_context(
            request_id=request_id.decode("ascii"),
            trace_id=trace_id_from(traceparent.decode("latin-1")) if traceparent is not None else None,
        )

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), (HEADER, request_id)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            end_request_context()
