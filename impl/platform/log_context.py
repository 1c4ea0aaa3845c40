"""What every log line of a request carries: its request ID, its W3C trace ID, and (once known) the caller.

The values live in one context variable holding a mapping, so they follow the request's task (and the threads it
hands work to) without being passed around; the log configuration merges them into every line, stdlib loggers' too
(:func:`merge_log_context`). The edge middleware begins and ends a request's context; the auth layer adds the caller
through :func:`bind_log_context`, so the platform never needs to know what a user is.

One variable, not structlog's one per key: beginning a request's context is then one ``set``, where structlog's
``clear_contextvars`` walks every context variable of the task and ``bind_contextvars`` sets one per key; together
they were a tenth of the edge's work per request (docs/performance.md#log-context). The mapping is never changed in
place, only replaced, so a thread that was handed a copy of the context keeps what it was given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from structlog.typing import EventDict, WrappedLogger

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


EMPTY: Mapping[str, Any] = MappingProxyType({})
_context: ContextVar[Mapping[str, Any]] = ContextVar("charter_log_context", default=EMPTY)


def begin_request_context(*, request_id: str, trace_id: str | None) -> None:
    """A fresh context for one request: nothing of an earlier request on this task (or thread) survives."""
    _context.set({"request_id": request_id} if trace_id is None else {"request_id": request_id, "trace_id": trace_id})


def bind_log_context(**values: Any) -> None:
    """Adds values (e.g. ``user_id``) to every later log line of the current request."""
    _context.set({**_context.get(), **values})


def log_context() -> Mapping[str, Any]:
    """The values bound so far for the current request (read-only: bind with :func:`bind_log_context`)."""
    return _context.get()


def end_request_context() -> None:
    _context.set(EMPTY)


def merge_log_context(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: the context's values join the line; a key the line sets itself wins."""
    for key, value in _context.get().items():
        event_dict.setdefault(key, value)
    return event_dict
