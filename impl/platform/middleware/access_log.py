"""One log line per HTTP request, written when the response has ended (a stream's too), with what operators need.

The line names the matched route's template (``/api/v1/users/{user_id}``), never the raw path: it groups well,
and the path's IDs (or a query string's secrets) stay out. It carries the request's log context as it was when the
answer ended (request_id, trace_id, the caller's user_id once the guard has bound it), and it is made from the
edge's record, outside Starlette's error middleware, so a crash is logged with the 500 it was answered with. The
lines of one iteration of the event loop are written together at its end (impl/platform/middleware/answered.py),
through the service's log handler (impl.platform.log_config.ServiceHandler, logger ``charter.access``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from impl.platform.log_config import access_handler
from impl.platform.middleware.answered import AnsweredRequest, route_template


def access_line(record: AnsweredRequest) -> tuple[dict[str, Any], Mapping[str, Any], float]:
    """The access line of an answered request: its fields in their order, the request's log context, its time."""
    status = record.status
    client = record.client
    fields = {
        "method": record.method,
        "route": route_template(record.route),
        # None: nothing was sent; failed, the server answered 500; otherwise the request was cancelled (the client
        # went away), which has no status.
        "status": 500 if status is None and record.failed else status,
        "duration_ms": round(record.seconds * 1000, 2),
        "request_id": record.request_id,
        "user_id": record.log_context.get("user_id"),  # the caller the guard bound into the log context, if any
        "client": f"{client[0]}:{client[1]}" if client else None,
        "bytes_sent": record.bytes_sent,
    }
    return fields, record.log_context, record.at


class AccessLog:
    """Writes the access lines of answered requests through the service's log handler, when one is installed and
    lets INFO through (looked up per batch: tests and entry points configure logging before or after the app)."""

    def write(self, records: list[AnsweredRequest]) -> None:
        handler = access_handler()
        if handler is not None:
            handler.write_lines(access_line, records)
