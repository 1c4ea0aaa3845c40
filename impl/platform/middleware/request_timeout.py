"""A per-request time budget: a request that has not begun its answer within it is abandoned with 504.

Cancelling the request's task unwinds it the ordinary way: an open database transaction rolls back, so nothing of
an abandoned write is committed (a blocking call already handed to a thread finishes there, and its result is
dropped). Once the answer has begun (a stream, a download, an SSE connection), the budget no longer applies: the
response's own limits (token lifetime, `max_seconds`, client disconnects) govern it.

Deadlines are kept in a table and checked by one watcher task per event loop, every tenth of the budget (at most
0.1 s), rather than by an ``asyncio.timeout`` per request: its timer handle, reschedule and exit checks were a fifth
of a ``GET /health`` answer (``make bench``), while a table entry costs a dict insert and delete. The price: a 504
leaves up to one tick (a tenth of the budget) late.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


class RequestTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds
        self.tick_seconds = min(MAX_TICK_SECONDS, timeout_seconds / 10)
        # One watch per event loop (a test may serve one app from several loops); gone with its loop.
        self.watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, DeadlineWatch] = weakref.WeakKeyDictionary()
        # The last loop's watch, checked first: a WeakKeyDictionary lookup makes a weak reference per call.
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], DeadlineWatch] | None = None

    def _watch_for(self, loop: asyncio.AbstractEventLoop) -> DeadlineWatch:
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]
        watch = self.watches.get(loop)
        if watch is None:
            watch = self.watches[loop] = DeadlineWatch(tick_seconds=self.tick_seconds)
        self._last = (weakref.ref(loop), watch)
        return watch

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task(loop)
        if scope["type"] != "http" or task is None:
            await self.app(scope, receive, send)
            return
        watch = self._watch_for(loop)
        watch.add(task, loop.time() + self.timeout_seconds)
        started = False

        # A plain function handing back ``send``'s own awaitable: a coroutine of its own per message would only
        # wrap it (see EdgeMiddleware).
        def send_and_stop_the_clock(message: Message) -> Awaitable[None]:
            nonlocal started
            if not started and message["type"] == "http.response.start":
                started = True
                watch.discard(task)
            return send(message)

        try:
            await self.app(scope, receive, send_and_stop_the_clock)
        except asyncio.CancelledError:
            # Not our deadline (the client went away, the server is stopping), or an answer already begun: as is.
            if not watch.took_expired(task) or started:
                raise
            task.uncancel()
            detail = f"The request took longer than {self.timeout_seconds:g} s and was abandoned."
            await problem(504, detail=detail, instance=scope["path"])(scope, receive, send)
        finally:
            watch.forget(task)
