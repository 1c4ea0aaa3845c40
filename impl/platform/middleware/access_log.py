"""One log line per HTTP request, written when the response has ended (a stream's too), with what operators need.

The line names the matched route's template (``/api/v1/users/{user_id}``), never the raw path: it groups well,
and the path's IDs (or a query string's secrets) stay out. The edge middleware writes it after the answer, while
the request's log context (request_id, trace_id, the caller's user_id once the guard has bound it) is still there,
and from outside Starlette's error middleware, so a crash is logged with the 500 it was answered with. It is
rendered by :class:`impl.platform.log_config.AccessLines` (logger ``charter.access``), at the end of the event
loop's iteration in which the answer ended.
"""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from impl.platform.middleware.request_id import request_id_of


def route_template(scope: Scope) -> str | None:
    """The matched route's path format (``None`` when nothing matched: a 404 has no route)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None


def client_address(scope: Scope) -> str | None:
    # Read after the app ran: uvicorn's ProxyHeadersMiddleware (trusted proxies only) rewrites it in place.
    client = scope.get("client")
    return f"{client[0]}:{client[1]}" if client else None


def access_fields(
    scope: Scope, *, status: int | None, failed: bool, bytes_sent: int, seconds: float, user_id: object
) -> dict[str, Any]:
    """The access line's fields. ``status`` None: nothing was sent; with ``failed`` the server answered 500, without
    it the request was cancelled (the client went away), which has no status. ``user_id``: the log context's."""
    return {
        "method": scope["method"],
        "route": route_template(scope),
        "status": 500 if status is None and failed else status,
        "duration_ms": round(seconds * 1000, 2),
        "request_id": request_id_of(scope),
        "user_id": user_id,  # the caller the guard bound into the log context, if any
        "client": client_address(scope),
        "bytes_sent": bytes_sent,
    }
