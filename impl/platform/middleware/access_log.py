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


# What an access line says, read from the request when its answer ends: plain values, so that the scope (and
# everything it holds) is not kept alive until the line is written, nor examined by the garbage collector meanwhile.
AccessValues = tuple[str, str | None, int | None, float, str | None, object, tuple[str, int] | None, int]


def access_values(
    scope: Scope, *, status: int | None, failed: bool, bytes_sent: int, seconds: float, user_id: object
) -> AccessValues:
    """``status`` None: nothing was sent; with ``failed`` the server answered 500, without it the request was
    cancelled (the client went away), which has no status. ``user_id``: the log context's."""
    return (
        scope["method"],
        route_template(scope),
        500 if status is None and failed else status,
        seconds,
        request_id_of(scope),
        user_id,  # the caller the guard bound into the log context, if any
        scope.get("client"),  # read after the app ran: uvicorn's ProxyHeadersMiddleware rewrites it in place
        bytes_sent,
    )


def access_fields(values: AccessValues) -> dict[str, Any]:
    """The access line's fields, in their order."""
    method, route, status, seconds, request_id, user_id, client, bytes_sent = values
    return {
        "method": method,
        "route": route,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
        "request_id": request_id,
        "user_id": user_id,
        "client": f"{client[0]}:{client[1]}" if client else None,
        "bytes_sent": bytes_sent,
    }
