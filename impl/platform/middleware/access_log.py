"""One log line per HTTP request, written when the response has ended (a stream's too), with what operators need.

The line names the matched route's template (``/api/v1/users/{user_id}``), never the raw path: it groups well,
and the path's IDs (or a query string's secrets) stay out. It sits inside the request-ID middleware, so the
request's log context (request_id, trace_id, the caller's user_id once the guard has bound it) is still there, and
outside Starlette's error middleware, so a crash is logged with the 500 it was answered with.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.platform.log_context import log_context
from impl.platform.middleware.request_id import request_id_of

LOGGER_NAME = "charter.access"


def route_template(scope: Scope) -> str | None:
    """The matched route's path format (``None`` when nothing matched: a 404 has no route)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None


def client_address(scope: Scope) -> str | None:
    # Read after the app ran: uvicorn's ProxyHeadersMiddleware (trusted proxies only) rewrites it in place.
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


class AccessLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # A stdlib logger: rendered by configure_logging's formatter like every other line (its fields via
        # ExtraAdder), and silent, not printed to stdout by structlog's defaults, where logging is not configured.
        self.logger = logging.getLogger(LOGGER_NAME)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None
        sent = 0

        async def counting_send(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, counting_send)
        except Exception:
            failed = True  # (a cancellation, i.e. the client went away, is not a failure: no status then)
            raise
        finally:
            fields: dict[str, Any] = {
                "method": scope["method"],
                "route": route_template(scope),
                # Nothing sent and an exception on its way out: the server answers it with 500.
                "status": 500 if status is None and failed else status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                "request_id": request_id_of(scope),
                "user_id": log_context().get("user_id"),
                "client": client_address(scope),
                "bytes_sent": sent,
            }
            if self.logger.isEnabledFor(logging.INFO):
                self.logger.info("request", extra=fields)
