"""What the edge records of each answered request, for the request counters and the access line.

The edge makes one record per request, right after its answer ends, and hands all of one event-loop iteration's
records to the counters and the access log together at the end of that iteration (impl/platform/iteration_batch.py).
The work done per request itself is then one tuple; the labels, the fields and the rendering happen in the batch,
where their code and data stay in the processor's caches from one request to the next: done in each request, they
were the larger part of what the edge cost a ``GET /health`` answer (docs/performance.md#iteration-batch).

A plain tuple (a named one costs several times as much to make), of plain values: nothing the request held (its
scope, its objects) stays alive until the end of the iteration, nor is scanned by the garbage collector meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# (method, route, root_path, entry_root_path, status, failed, seconds, bytes_sent, at, log_context, client,
#  request_id):
# - route: the route the router matched (scope["route"]; None when none did), root_path: the scope's after routing,
#   entry_root_path: the scope's when the request reached the edge (a mount adds its prefix in between);
# - status: None when nothing was sent; failed: the app raised (then the server answered 500), otherwise a request
#   without a status was cancelled (the client went away);
# - seconds: from arrival to the end of the answer; at: when it ended (``time.time()``);
# - log_context: the request's context when it ended (request_id, trace_id, the caller's user_id);
# - client: (host, port) after the proxy headers rewrote it, or None.
Answered = tuple[
    str,
    object,
    str,
    str,
    int | None,
    bool,
    float,
    int,
    float,
    Mapping[str, Any],
    tuple[str, int] | None,
    str,
]


def route_template(route: object) -> str | None:
    """The path format of the route the router matched (``None`` when none did: a 404 has no route)."""
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None
