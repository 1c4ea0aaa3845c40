"""A per-request time budget: a request that has not begun its answer within it is abandoned with 504.

Cancelling the request's task unwinds it the ordinary way: an open database transaction rolls back, so nothing of
an abandoned write is committed (a blocking call already handed to a thread finishes there, and its result is
dropped). Once the answer has begun (a stream, a download, an SSE connection), the budget no longer applies: the
response's own limits (token lifetime, `max_seconds`, client disconnects) govern it.

The edge middleware keeps the budget (:class:`RequestDeadlines`). Deadlines are kept in a table and checked by one
watcher task per event loop, every tenth of the budget (at most 0.1 s), rather than by an ``asyncio.timeout`` per
request: its timer handle, reschedule and exit checks were a fifth of a ``GET /health`` answer (``make bench``),
while a table entry costs a dict insert and delete. The price: a 504 leaves up to one tick (a tenth of the budget)
late.
"""

from __future__ import annotations

import asyncio
import weakref

from starlette.types import ASGIApp, Receive, Scope, Send

from impl.platform.problems import problem

MAX_TICK_SECONDS = 0.1
CANCEL_MESSAGE = "the request's time budget ran out"


class DeadlineWatch:
    """The deadlines of one event loop's requests in flight, and the watcher that cancels the overdue ones."""

    def __init__(self, *, tick_seconds: float) -> None:
        self.tick_seconds = tick_seconds
        self.deadlines: dict[asyncio.Task[object], float] = {}
        self.expired: set[asyncio.Task[object]] = set()
        self.watcher: asyncio.Task[None] | None = None

    def add(self, task: asyncio.Task[object], deadline: float) -> None:
        self.deadlines[task] = deadline
        if self.watcher is None or self.watcher.done():
            # Runs while requests are in flight; it ends when none is left, and the next request starts another.
            self.watcher = asyncio.get_running_loop().create_task(self._watch(), name="request-deadlines")

    def discard(self, task: asyncio.Task[object]) -> None:
        self.deadlines.pop(task, None)

    def took_expired(self, task: asyncio.Task[object]) -> bool:
        """Whether the watcher cancelled ``task`` (forgetting that it did)."""
        try:
            self.expired.remove(task)
        except KeyError:
            return False
        return True

    def forget(self, task: asyncio.Task[object]) -> None:
        """The request has ended: neither its deadline nor a cancellation it did not see stays behind."""
        self.deadlines.pop(task, None)
        self.expired.discard(task)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while self.deadlines:
            await asyncio.sleep(self.tick_seconds)
            now = loop.time()
            for task in [task for task, deadline in self.deadlines.items() if deadline <= now]:
                del self.deadlines[task]
                self.expired.add(task)
                task.cancel(CANCEL_MESSAGE)


class RequestDeadlines:
    """The budget, as the edge middleware keeps it: it starts each request's clock as the request arrives
    (:meth:`watch_for` its loop, then ``add``), stops it when the answer begins (``discard``), and, when the watcher
    cancelled the request (``took_expired``), answers with :attr:`answer`.

    Kept by the edge rather than by a layer of its own: a layer cost a coroutine and a wrapped ``send`` per request,
    a twentieth of a ``GET /health`` answer (docs/performance.md#time-budget). ``answer`` is :meth:`timed_out` as
    the app factory wraps it in the app's CORS and deprecation layers, so the 504 carries the headers a browser
    needs to read it, as every other answer does.
    """

    def __init__(self, *, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self.tick_seconds = min(MAX_TICK_SECONDS, timeout_seconds / 10)
        self.answer: ASGIApp = self.timed_out
        # One watch per event loop (a test may serve one app from several loops); gone with its loop.
        self.watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DeadlineWatch] = weakref.WeakKeyDictionary()
        # The last loop's watch, checked first: a WeakKeyDictionary lookup makes a weak reference per call.
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], DeadlineWatch] | None = None

    def watch_for(self, loop: asyncio.AbstractEventLoop) -> DeadlineWatch:
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]
        watch = self.watches.get(loop)
        if watch is None:
            watch = self.watches[loop] = DeadlineWatch(tick_seconds=self.tick_seconds)
        self._last = (weakref.ref(loop), watch)
        return watch

    async def timed_out(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The 504 problem of a request whose budget ran out before its answer began."""
        detail = f"The request took longer than {self.timeout_seconds:g} s and was abandoned."
        await problem(504, detail=detail, instance=scope["path"])(scope, receive, send)
