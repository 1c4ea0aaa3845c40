"""Give every request an ID, echo it on every response, and make it available to handlers and logs.

The edge middleware (impl/platform/middleware/edge.py) calls :func:`assign_request_id` first thing, and echoes the
ID on the response; it is the outermost layer, so even the 500 answer of Starlette's error middleware carries it.
"""

from __future__ import annotations

import os
import re

from starlette.types import Scope

from impl.platform.log_context import begin_request_context, trace_id_from

HEADER = b"x-request-id"
TRACEPARENT = b"traceparent"
# Long enough for UUIDs, W3C trace IDs and most proxies' formats; nothing that could smuggle into a log line.
WELL_FORMED = re.compile(rb"[A-Za-z0-9._:-]{1,128}")


# The variant digit of an RFC 9562 UUID is 8, 9, a or b: any random hex digit, its top two bits set to 10.
_VARIANT_DIGIT = {digit: "89ab"[int(digit, 16) & 0b11] for digit in "0123456789abcdef"}


def fresh_request_id() -> str:
    """A random (version 4) UUID in its canonical text, as ``str(uuid.uuid4())`` gives it, at half the cost.

    Straight from 16 random bytes' hex: the ``UUID`` object's checks and integer arithmetic were a fifth of the edge
    middleware's work per request (docs/performance.md#request-ids). 122 random bits, like uuid4.
    """
    digits = os.urandom(16).hex()
    return f"{digits[:8]}-{digits[8:12]}-4{digits[13:16]}-{_VARIANT_DIGIT[digits[16]]}{digits[17:20]}-{digits[20:]}"


def assign_request_id(scope: Scope, *, sent: bytes | None, traceparent: bytes | None) -> tuple[str, bytes]:
    """The request's ID: the one the client ``sent`` (its ``X-Request-ID``) when well-formed, otherwise a fresh UUID4.

    The edge reads both headers (the first of each counts) in its one pass over the request's headers. The ID is
    kept in the scope's state (``request.state.request_id`` for a handler) and begins the request's log context, so
    every log line of this request (ours, the libraries') carries it, with the caller's trace ID if a ``traceparent``
    came. Returned as text and as the header's bytes.
    """
    if sent is not None and WELL_FORMED.fullmatch(sent):
        request_id: bytes = sent
        text = sent.decode("ascii")
    else:
        text = fresh_request_id()
        request_id = text.encode("ascii")
    scope.setdefault("state", {})["request_id"] = text
    begin_request_context(
        request_id=text,
        trace_id=trace_id_from(traceparent.decode("latin-1")) if traceparent is not None else None,
    )
    return text, request_id
