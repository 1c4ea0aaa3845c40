"""One log line per HTTP request, written when the response has ended (a stream's too), with what operators need.

The line names the matched route's template (``/api/v1/users/{user_id}``), never the raw path: it groups well,
and the path's IDs (or a query string's secrets) stay out. The edge middleware writes it after the answer, while
the request's log context (request_id, trace_id, the caller's user_id once the guard has bound it) is still there,
and from outside Starlette's error middleware, so a crash is logged with the 500 it was answered with. It is
rendered by :class:`impl.platform.log_config.AccessLines` (logger ``charter.access``), at the end of the event
loop's iteration in which the answer ended.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from impl.platform.middleware.answered import Answered, route_template


def access_line(record: Answered) -> tuple[dict[str, Any], Mapping[str, Any], float]:
    """The access line of an answered request: its fields in their order, the request's log context, its time."""
    method, route, _, _, status, failed, seconds, bytes_sent, at, context, client, request_id = record
    fields = {
        "method": method,
        "route": route_template(route),
        # None: nothing was sent; failed, the server answered 500; otherwise the request was cancelled (the client
        # went away), which has no status.
        "status": 500 if status is None and failed else status,
        "duration_ms": round(seconds * 1000, 2),
        "request_id": request_id,
        "user_id": context.get("user_id"),  # the caller the guard bound into the log context, if any
        "client": f"{client[0]}:{client[1]}" if client else None,
        "bytes_sent": bytes_sent,
    }
    return fields, context, at
