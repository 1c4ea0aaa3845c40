"""The process's SSE streams: the replay buffer, the open streams, and ending them all at shutdown.

uvicorn runs the lifespan's shutdown only after every open response has finished: an event stream, which never
finishes by itself, would hold a SIGTERM up for as long as it lasts. So the app registers :meth:`end_streams` with
its graceful shutdown (impl/platform/shutdown.py), which SIGTERM begins before uvicorn waits for connections: every
stream ends cleanly at once (each client sees the end of the response and reconnects elsewhere with
Last-Event-ID), and shutdown proceeds.
"""

from __future__ import annotations

import logging

from impl.platform.events import Subscription
from impl.streams.replay import ReplayBuffer

logger = logging.getLogger("charter.streams")


class StreamHub:
    def __init__(self, *, replay: ReplayBuffer) -> None:
        self.replay = replay
        self._open: set[Subscription] = set()
        self._closing = False

    @property
    def open_streams(self) -> int:
        return len(self._open)

    @property
    def closing(self) -> bool:
        return self._closing

    def register(self, subscription: Subscription) -> None:
        """Track an open stream by its subscription; shutdown closes it, which ends the stream."""
        if self._closing:
            subscription.close()
        self._open.add(subscription)

    def unregister(self, subscription: Subscription) -> None:
        self._open.discard(subscription)

    def begin_shutdown(self) -> None:
        """End every open stream now (and any that opens from here on). Idempotent."""
        if not self._closing:
            logger.info("shutting down: ending %d event stream(s)", len(self._open))
        self._closing = True
        for subscription in tuple(self._open):
            subscription.close()

    async def end_streams(self) -> None:
        """The graceful-shutdown farewell: :meth:`begin_shutdown`."""
        self.begin_shutdown()

    async def start(self) -> None:
        self._closing = False
        await self.replay.start()

    async def close(self) -> None:
        self.begin_shutdown()
        await self.replay.close()
