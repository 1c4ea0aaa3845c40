"""Give every request an ID, echo it on every response, and make it available to handlers and logs.

The edge middleware (impl/platform/middleware/edge.py) calls :func:`assign_request_id` first thing, and echoes the
ID on the response; it is the outermost layer, so even the 500 answer of Starlette's error middleware carries it.
"""

from __future__ import annotations

import re
import uuid

from starlette.types import Scope

from impl.platform.log_context import begin_request_context, trace_id_from

HEADER = b"x-request-id"
TRACEPARENT = b"traceparent"
# Long enough for UUIDs, W3C trace IDs and most proxies' formats; nothing that could smuggle into a log line.
WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


def request_id_of(scope: Scope) -> str | None:
    """The ID the edge gave this request (``None`` outside it)."""
    state = scope.get("state")
    return state.get("request_id") if isinstance(state, dict) else None


def assign_request_id(scope: Scope) -> bytes:
    """The request's ID: the client's ``X-Request-ID`` when well-formed, otherwise a fresh UUID4.

    It is kept in the scope's state (:func:`request_id_of`) and begins the request's log context, so every log line
    of this request (ours, the libraries') carries it, with the caller's trace ID if a ``traceparent`` came.
    """
    raw = traceparent = None
    for name, value in scope["headers"]:  # one pass; the first of each counts
        if name == HEADER and raw is None:
            raw = value
        elif name == TRACEPARENT and traceparent is None:
            traceparent = value
    request_id = raw if raw is not None and WELL_FORMED.fullmatch(raw) else str(uuid.uuid4()).encode("ascii")
    text = request_id.decode("ascii")
    scope.setdefault("state", {})["request_id"] = text
    begin_request_context(
        request_id=text,
        trace_id=trace_id_from(traceparent.decode("latin-1")) if traceparent is not None else None,
    )
    return request_id
