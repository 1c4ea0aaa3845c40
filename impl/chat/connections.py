"""The open chat connections of this worker, so shutdown can close every one with 1001 (going away)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol

GOING_AWAY = 1001


class Closable(Protocol):
    async def close(self, code: int, reason: str = "") -> None: ...


class ChatConnections:
    def __init__(self) -> None:
        self._open: set[Closable] = set()
        self._closing = False
        self._drained: asyncio.Event | None = None  # set when the last connection ends after close_all

    def __len__(self) -> int:
        return len(self._open)

    @property
    def closing(self) -> bool:
        return self._closing

    def reopen(self) -> None:
        """Accept connections again (the lifespan's start-up: the app may be served more than once)."""
        self._closing = False
        self._drained = None

    def add(self, connection: Closable) -> None:
        self._open.add(connection)

    def discard(self, connection: Closable) -> None:
        self._open.discard(connection)
        if not self._open and self._drained is not None:
            self._drained.set()

    async def close_all(
        self, code: int = GOING_AWAY, reason: str = "the service is shutting down", *, wait_seconds: float = 5.0
    ) -> None:
        """Close every open connection (new ones are refused from now on) and wait, bounded, for their sessions to
        end (the client's closing answer), so shutdown goes on with nothing of the chat left running."""
        self._closing = True
        await asyncio.gather(*(connection.close(code, reason) for connection in tuple(self._open)))
        if not self._open:
            return
        # Made here, in the loop that waits: this object outlives any one event loop (tests run several).
        self._drained = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drained.wait(), timeout=wait_seconds)
