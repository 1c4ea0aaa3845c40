"""One client's event stream: replay after Last-Event-ID, then live events, ticks and heartbeats, until it ends.

The stream's *position* is the id of the last bus event it has passed, delivered or not (a user's stream skips
other users' events but moves past them). Ticks carry it as their ``id:``, so a client that resumes from a tick
resumes exactly where the stream was, and one that only ever sees ticks does not fall out of the replay buffer
just because nothing visible to it happened. Events the caller may not see are never sent.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from generated.api._support import Principal
from impl.platform.events import Event, EventBus
from impl.platform.problems import ProblemError
from impl.streams import wire
from impl.streams.hub import StreamHub
from impl.streams.permissions import STREAM_TYPES, may_see
from impl.streams.replay import events_after

logger = logging.getLogger("charter.streams")

RESET = {"reason": "last_event_id_unknown"}


@dataclass(frozen=True, slots=True)
class StreamTiming:
    tick_seconds: float
    heartbeat_seconds: float
    # How often an open stream checks that its caller may still read it (logged out, deactivated, ...).
    recheck_seconds: float = 1.0


# Whether the caller may still use a stream opened with this principal (the auth domain's check).
StillAllowed = Callable[[Principal], Awaitable[bool]]


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class EventStream:
    def __init__(
        self,
        *,
        bus: EventBus,
        hub: StreamHub,
        principal: Principal,
        last_event_id: str | None,
        max_seconds: int | None,
        timing: StreamTiming,
        queue_size: int,
        still_allowed: StillAllowed,
    ) -> None:
        self._bus = bus
        self._still_allowed = still_allowed
        self._hub = hub
        self._principal = principal
        self._last_event_id = last_event_id
        self._timing = timing
        self._queue_size = queue_size
        # It ends after max_seconds and, whatever was asked, when the access token expires.
        lifetime = min(max_seconds if max_seconds is not None else math.inf, principal.expires_at - time.time())
        self._lifetime = max(lifetime, 0.0)
        self.position: str | None = None
        self.delivered = 0

    async def frames(self) -> AsyncGenerator[bytes, None]:
        # Subscribe before looking at the replay buffer: whatever is published from here on is queued for us.
        subscription = self._bus.subscribe(types=STREAM_TYPES, queue_size=self._queue_size)
        self._hub.register(subscription)
        reason = "client gone or cancelled"
        try:
            yield wire.retry()
            replayed = set[str]()
            for frame, event_id in await self._start():
                if event_id is not None:
                    replayed.add(event_id)
                if frame:
                    yield frame
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self._lifetime
            next_tick = loop.time() + self._timing.tick_seconds
            last_sent = loop.time()
            next_check = loop.time() + self._timing.recheck_seconds
            while True:
                now = loop.time()
                if now >= deadline:
                    reason = "lifetime over"
                    return
                if now >= next_check:
                    next_check = now + self._timing.recheck_seconds
                    if not await self._allowed():
                        reason = "access revoked"
                        return
                    continue
                if now >= next_tick:
                    next_tick = now + self._timing.tick_seconds
                    last_sent = now
                    yield wire.frame(id=self.position, event="tick", data={"time": _now_rfc3339()})
                    continue
                if now - last_sent >= self._timing.heartbeat_seconds:
                    last_sent = now
                    yield wire.KEEP_ALIVE
                    continue
                try:
                    wake = min(next_tick, next_check, last_sent + self._timing.heartbeat_seconds, deadline)
                    async with asyncio.timeout_at(wake):
                        event = await anext(subscription)
                except TimeoutError:
                    continue
                except StopAsyncIteration:  # closed by the hub: the service is shutting down
                    reason = "shutdown"
                    return
                if event.id in replayed:  # already sent from the replay buffer
                    replayed.discard(event.id)
                    continue
                self.position = event.id
                if may_see(event, self._principal):
                    self.delivered += 1
                    last_sent = loop.time()
                    yield self._frame(event)
        finally:
            subscription.close()
            self._hub.unregister(subscription)
            log = logger.warning if subscription.dropped else logger.debug
            log(
                "event stream for %s ended (%s): %d events delivered, %d dropped (client too slow)",
                self._principal.subject,
                reason,
                self.delivered,
                subscription.dropped,
            )

    async def _allowed(self) -> bool:
        """Whether the caller may still read the stream; not when the revocation store cannot tell (fail closed:
        the client reconnects, and is let in again once it can be checked)."""
        try:
            return await self._still_allowed(self._principal)
        except ProblemError:
            return False

    async def _start(self) -> list[tuple[bytes, str | None]]:
        """The frames that open the stream (replayed events, or a reset), each with the event id it covers."""
        snapshot = await self._hub.replay.snapshot()
        self.position = snapshot[-1].id if snapshot else None
        if self._last_event_id is None:
            return []
        backlog = events_after(snapshot, self._last_event_id)
        if backlog is None:
            return [(wire.frame(id=self.position, event="reset", data=RESET), None)]
        self.position = self._last_event_id
        frames: list[tuple[bytes, str | None]] = []
        for event in backlog:
            self.position = event.id
            visible = may_see(event, self._principal)
            if visible:
                self.delivered += 1
            frames.append((self._frame(event) if visible else b"", event.id))
        return frames

    @staticmethod
    def _frame(event: Event) -> bytes:
        return wire.frame(id=event.id, event=event.type, data=event.as_dict())
