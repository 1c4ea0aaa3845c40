"""The open chat connections of this worker, so shutdown can close every one with 1001 (going away)."""

from __future__ import annotations

import asyncio
from typing import Protocol

GOING_AWAY = 1001


class Closable(Protocol):
    async def close(self, code: int, reason: str = "") -> None: ...


class ChatConnections:
    def __init__(self) -> None:
        self._open: set[Closable] = set()
        self._closing = False

    def __len__(self) -> int:
        return len(self._open)

    @property
    def closing(self) -> bool:
        return self._closing

    def add(self, connection: Closable) -> None:
        self._open.add(connection)

    def discard(self, connection: Closable) -> None:
        self._open.discard(connection)

    async def close_all(self, code: int = GOING_AWAY, reason: str = "the service is shutting down") -> None:
        """Close every open connection (new ones are refused from now on); for the app's shutdown."""
        self._closing = True
        await asyncio.gather(*(connection.close(code, reason) for connection in tuple(self._open)))
