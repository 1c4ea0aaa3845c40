"""The moment the server starts to shut down, told to what holds long-lived connections (chat sockets, SSE streams).

uvicorn's graceful shutdown stops accepting, asks each connection to finish (closing WebSockets with 1012 itself)
and waits for them, and only then runs the app's lifespan shutdown. An endless response (an SSE stream) would
hold that wait until the grace period runs out, and the lifespan would come too late to say goodbye properly.
So SIGTERM begins :meth:`GracefulShutdown.begin` first (:func:`chain_signal_handlers`): streams end, chat sockets
close with 1001 (going away), and only then does uvicorn close what is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import signal
import threading
from collections.abc import Awaitable, Callable
from types import FrameType
from typing import Any

logger = logging.getLogger("charter.shutdown")

Farewell = Callable[[], Awaitable[None]]


class ShuttingDownError(Exception):
    def __init__(self) -> None:
        super().__init__("the service is shutting down")


class GracefulShutdown:
    """One per app: ``draining`` goes up once, ``wait()`` returns then, and every registered farewell runs once."""

    def __init__(self, *, farewell_timeout_seconds: float = 5.0) -> None:
        self._event = asyncio.Event()
        self._farewells: list[Farewell] = []
        self._timeout = farewell_timeout_seconds

    def start(self) -> None:
        """A new serving period (the lifespan's start-up): not draining. Made here, in the loop that will wait on
        it, since an app may be served more than once (tests run several lifespans, each with its own loop)."""
        self._event = asyncio.Event()

    @property
    def draining(self) -> bool:
        return self._event.is_set()

    def on_shutdown(self, farewell: Farewell) -> None:
        """Run ``farewell`` when shutdown begins (chat: close sockets with 1001)."""
        self._farewells.append(farewell)

    async def accepting(self) -> None:
        """A readiness check: down once draining, so load balancers stop sending new requests here."""
        if self.draining:
            raise ShuttingDownError

    async def wait(self) -> None:
        """Return once shutdown has begun; streams race this against their next event."""
        await self._event.wait()

    async def begin(self) -> None:
        """Start draining: wake every waiter and run the farewells, bounded in time; later calls do nothing."""
        if self._event.is_set():
            return
        self._event.set()
        if not self._farewells:
            return
        results = asyncio.gather(*(farewell() for farewell in self._farewells), return_exceptions=True)
        try:
            outcomes = await asyncio.wait_for(results, timeout=self._timeout)
        except TimeoutError:
            logger.warning("shutdown farewells took longer than %.1f s; the server closes what is left", self._timeout)
            with contextlib.suppress(asyncio.CancelledError):
                await results
            return
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                logger.error("a shutdown farewell failed", exc_info=outcome)


def chain_signal_handlers(shutdown: GracefulShutdown, loop: asyncio.AbstractEventLoop) -> Callable[[], None]:
    """Make SIGTERM and SIGINT begin ``shutdown`` on ``loop``, then do what the server's own handler does.

    uvicorn installs its handlers in the main thread before the lifespan starts and only watches a flag every
    0.1 s, so a farewell scheduled here runs before uvicorn closes connections (with 1012) and waits for them.
    Elsewhere (a server in a thread, a test client) nothing is installed, and the lifespan's shutdown begins it.
    Returns a function that puts the previous handlers back.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    started: set[asyncio.Task[None]] = set()

    def start_draining() -> None:
        task = loop.create_task(shutdown.begin())
        started.add(task)  # a reference, so the task is not collected before it ends
        task.add_done_callback(started.discard)

    installed: dict[signal.Signals, tuple[Any, Any]] = {}
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)
        if not callable(previous):
            continue

        def handler(received: int, frame: FrameType | None, previous: Any = previous) -> None:
            # A signal handler runs in whatever the main thread was running, a request's task perhaps: the draining
            # gets a fresh context, so no request's log context (its request_id) follows it into the shutdown.
            loop.call_soon_threadsafe(start_draining, context=contextvars.Context())
            previous(received, frame)

        signal.signal(signum, handler)
        installed[signum] = (previous, handler)

    def restore() -> None:
        for signum, (previous, handler) in installed.items():
            if signal.getsignal(signum) is handler:
                signal.signal(signum, previous)

    return restore
