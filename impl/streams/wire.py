"""The text/event-stream wire format (WHATWG HTML, "Server-sent events"): frames as bytes."""

from __future__ import annotations

import json
from typing import Any

RETRY_MILLISECONDS = 3000
KEEP_ALIVE = b": keep-alive\n\n"


def retry(milliseconds: int = RETRY_MILLISECONDS) -> bytes:
    return f"retry: {milliseconds}\n\n".encode()


def frame(*, event: str, data: dict[str, Any], id: str | None = None) -> bytes:
    """One event. ``data`` is compact JSON, so it is one line (a newline would split it into two ``data:`` lines);
    ids come from the bus, which allows no whitespace in them. Without ``id`` the client keeps its last one."""
    lines = [f"id: {id}"] if id is not None else []
    lines += [f"event: {event}", f"data: {json.dumps(data, separators=(',', ':'))}"]
    return ("\n".join(lines) + "\n\n").encode()
