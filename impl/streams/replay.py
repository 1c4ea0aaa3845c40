"""The per-process replay buffer behind Last-Event-ID: the latest stream events, filled by ONE bus subscription."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from impl.platform.events import Event, EventBus, Subscription
from impl.streams.permissions import STREAM_TYPES


class ReplayBuffer:
    """The last ``size`` events of the types SSE carries, oldest first.

    Its consumer task does nothing but append, and awaits only the subscription: the bus fills every subscription
    synchronously, so once that task has run, it has taken every event published before. :meth:`snapshot` yields
    to it first; a stream that subscribes and then snapshots therefore finds each event in its own subscription, in
    the snapshot, or in both (then deduplicated by id) - never in neither.
    """

    def __init__(self, *, bus: EventBus, size: int) -> None:
        self._bus = bus
        self._events: deque[Event] = deque(maxlen=size)
        self._subscription: Subscription | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is not None:
            return
        # The consumer keeps up (it only appends), but a burst must not be lost while it waits its turn.
        self._subscription = self._bus.subscribe(types=STREAM_TYPES, queue_size=max(self._events.maxlen or 0, 256))
        self._task = asyncio.create_task(self._fill(self._subscription), name="charter-sse-replay")

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._subscription = self._task = None

    async def snapshot(self) -> list[Event]:
        """The buffered events, oldest first, including everything published before this call."""
        await asyncio.sleep(0)  # let the consumer take what the bus already delivered (see the class docstring)
        return list(self._events)

    async def _fill(self, subscription: Subscription) -> None:
        async for event in subscription:
            self._events.append(event)


def events_after(snapshot: list[Event], last_event_id: str) -> list[Event] | None:
    """The events after ``last_event_id``; None when that id is not in the snapshot (evicted, or never ours)."""
    for index, event in enumerate(snapshot):
        if event.id == last_event_id:
            return snapshot[index + 1 :]
    return None
