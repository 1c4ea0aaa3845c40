"""What every log line of a request carries: its request ID, its W3C trace ID, and (once known) the caller.

The values live in structlog's context variables, so they follow the request's task (and the threads it hands
work to) without being passed around; the log configuration merges them into every line, stdlib loggers' too.
The request-ID middleware begins and ends a request's context; the auth layer adds the caller through
:func:`bind_log_context`, so the platform never needs to know what a user is.
"""

from __future__ import annotations

import re
from typing import Any

import structlog

# W3C Trace Context §3.2: version-traceid-parentid-flags, lower-case hex. Later versions may append fields.
TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
INVALID_VERSION = "ff"


def trace_id_from(traceparent: str | None) -> str | None:
    """The trace ID of a ``traceparent`` header value, or ``None`` when absent or not valid per the spec."""
    if traceparent is None:
        return None
    match = TRACEPARENT.fullmatch(traceparent.strip())
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == INVALID_VERSION or (version == "00" and rest is not None):
        return None  # version 00 has exactly four fields; ff is forbidden
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None  # all-zero IDs are invalid
    return trace_id


def begin_request_context(*, request_id: str, trace_id: str | None) -> None:
    """A fresh context for one request: nothing of an earlier request on this task (or thread) survives."""
    structlog.contextvars.clear_contextvars()
    if trace_id is None:
        structlog.contextvars.bind_contextvars(request_id=request_id)
    else:
        structlog.contextvars.bind_contextvars(request_id=request_id, trace_id=trace_id)


def bind_log_context(**values: Any) -> None:
    """Adds values (e.g. ``user_id``) to every later log line of the current request."""
    structlog.contextvars.bind_contextvars(**values)


def log_context() -> dict[str, Any]:
    """The values bound so far for the current request."""
    return structlog.contextvars.get_contextvars()


def end_request_context() -> None:
    structlog.contextvars.clear_contextvars()
