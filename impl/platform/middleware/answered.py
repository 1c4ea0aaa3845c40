"""The way out of a request: the edge's record of each answer, then the request counters and the access line.

::

    EdgeMiddleware (edge.py)                      after each answer: one AnsweredRequest
        -> AnsweredRequests.add                   kept until the end of the event loop's iteration
        -> AnsweredRequests.flush                 then, all of that iteration's records together:
            -> RequestMetrics.record(records)     the counters and the latency histogram (metrics.py)
            -> AccessLog.write(records)           one access line each, in one write (access_log.py)

The app factory creates one :class:`AnsweredRequests` with its two collaborators and hands it to the edge and to
the metrics endpoint (a scrape flushes first, so it sees every request answered so far). Nothing is registered
anywhere else: no process-wide list of pending writers, no hook in the logging handler or in the registry.

Why at the end of the iteration: the bookkeeping after an answer does not need to happen inside the request.
Gathered and done once per iteration, it is one write instead of one per request, and its code and data stay in
the processor's caches from one record to the next: done one request at a time, it was half of what the edge did
per request (a profile of the running service under ``make bench``). A record waits no longer than the loop's
current iteration: the flush is scheduled with ``call_soon`` when the first record arrives, so it runs after the
callbacks already ready, before the loop next waits for I/O.

Locks: this object's lock guards only its list of records, and nothing else is called while it is held. The
collaborators are called after it is released, each taking only its own locks (prometheus-client's per value,
the log handler's for the write). Any thread may log at any time (span exporters, the Argon2 pool, Redis' and
SQLAlchemy's threads), and no path ever waits for one component's lock while holding another's: holding the
pipeline's lock while waiting for the handler's, as an earlier design did, deadlocked against a thread that
logged while holding the handler's. The price: access lines are not ordered against other log records (each line
carries the time its answer ended): docs/observability.md and docs/performance.md#iteration-batch.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from impl.platform.middleware.access_log import AccessLog
    from impl.platform.middleware.metrics import RequestMetrics


@dataclass(slots=True)
class AnsweredRequest:
    """What the edge knows of a request once its answer has ended: plain values only, so nothing the request held
    (its scope, its objects) stays alive until the end of the iteration. Built positionally, in this order (the
    edge makes one per request; keywords cost more)."""

    method: str
    route: object  # the route the router matched (scope["route"]); None when none did
    root_path: str  # the scope's after routing (a mount adds its prefix)
    entry_root_path: str  # the scope's when the request reached the edge
    status: int | None  # None: nothing was sent (see ``failed``)
    failed: bool  # the app raised (the server answered 500); without a status and not failed: cancelled
    seconds: float  # from arrival to the end of the answer
    bytes_sent: int
    at: float  # when the answer ended, ``time.time()``
    log_context: Mapping[str, Any]  # the request's context at its end: request_id, trace_id, the caller's user_id
    client: tuple[str, int] | None  # (host, port) after the proxy headers rewrote it
    request_id: str


class AnsweredRequests:
    """The records of answered requests, handed to ``metrics`` and ``access_log`` (either may be None) at the end of
    the loop's iteration in which they were made. Records may come from several loops in several threads (a test
    client runs its own); outside any loop a record is handed over at once."""

    def __init__(self, *, metrics: RequestMetrics | None, access_log: AccessLog | None) -> None:
        self.metrics = metrics
        self.access_log = access_log
        self._lock = threading.Lock()
        self._records: list[AnsweredRequest] = []
        self._scheduled_on: asyncio.AbstractEventLoop | None = None

    def __bool__(self) -> bool:
        """Whether records are waiting."""
        return bool(self._records)

    def add(self, record: AnsweredRequest) -> None:
        try:
            loop: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._records.append(record)
            schedule = loop is not None and self._scheduled_on is not loop
            if schedule:
                # A flush another loop scheduled may never run (that loop stopped): this loop schedules its own.
                self._scheduled_on = loop
        if loop is None:
            self.flush()
        elif schedule:
            loop.call_soon(self.flush)

    def flush(self) -> None:
        """Hands every waiting record to the counters and the access log now (nothing happens when none waits)."""
        with self._lock:
            records, self._records = self._records, []
            self._scheduled_on = None
        if not records:
            return
        # After the lock is released: see the module's docstring.
        if self.metrics is not None:
            self.metrics.record(records)
        if self.access_log is not None:
            self.access_log.write(records)


def route_template(route: object) -> str | None:
    """The path format of the route the router matched (``None`` when none did: a 404 has no route)."""
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return template if isinstance(template, str) else None
