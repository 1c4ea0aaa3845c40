"""Subscriptions: bounded, drop-oldest queues a bus fills without ever waiting, read with ``async for``."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from types import TracebackType
from typing import Self

from impl.platform.events.event import TYPE, Event

logger = logging.getLogger("charter.events")

DEFAULT_QUEUE_SIZE = 256
_PREFIX_PATTERN = re.compile(r"[a-z]+(\.[a-z_]+)*\.\*")


def _matcher(types: Collection[str] | None) -> Callable[[str], bool]:
    if types is None:
        return lambda _type: True
    if isinstance(types, str):  # a str is a Collection[str] of characters: surely a mistake
        raise TypeError("types must be a collection of type names, not a single string")
    if not types:
        raise ValueError("types must name at least one type or prefix (None subscribes to everything)")
    exact: set[str] = set()
    prefixes: list[str] = []
    for pattern in types:
        if TYPE.fullmatch(pattern):
            exact.add(pattern)
        elif _PREFIX_PATTERN.fullmatch(pattern):
            prefixes.append(pattern[:-1])  # "user.*" -> "user."
        else:
            raise ValueError(f"{pattern!r} is neither an event type nor a prefix pattern like 'user.*'")
    prefix_tuple = tuple(prefixes)
    return lambda type_: type_ in exact or type_.startswith(prefix_tuple)


class Subscription:
    """A bounded queue of the events one consumer asked for; ``async for event in subscription`` reads it.

    Iteration ends when the subscription (or its bus) is closed; events still queued then are discarded. One
    consumer per subscription: it is a queue, not a broadcast. ``dropped`` counts events discarded because the queue
    was full (drop-oldest).
    """

    def __init__(
        self, *, types: Collection[str] | None, queue_size: int, on_close: Callable[[Subscription], None]
    ) -> None:
        if queue_size < 1:
            raise ValueError("queue_size must be at least 1")
        self._matches = _matcher(types)
        # One slot more than asked for, reserved for the end-of-stream marker close() puts in.
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=queue_size + 1)
        self._capacity = queue_size
        self._on_close = on_close
        self._closed = False
        self.dropped = 0

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def queued(self) -> int:
        """Events waiting for the consumer."""
        return self._queue.qsize()

    def _offer(self, event: Event) -> None:
        """Queue ``event`` if it matches, without ever waiting: the bus calls this for every subscription."""
        if self._closed or not self._matches(event.type):
            return
        if self._queue.qsize() >= self._capacity:
            self._queue.get_nowait()
            self.dropped += 1
            if self.dropped == 1:  # once: after that the counter (a metric) tells the story, not the log
                logger.warning("a subscriber is not keeping up; dropping its oldest events (event type %s)", event.type)
        self._queue.put_nowait(event)

    def close(self) -> None:
        """Stop receiving; a consumer waiting in ``async for`` finishes. Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._on_close(self)
        self._queue.put_nowait(None)  # the reserved slot: wakes a waiting consumer

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> Event:
        if self._closed:
            raise StopAsyncIteration
        item = await self._queue.get()
        if item is None:
            raise StopAsyncIteration
        return item

    async def run(self, handler: Callable[[Event], Awaitable[object]]) -> None:
        """Call ``handler`` for each event until closed; a handler that raises is logged and the next event follows."""
        name = getattr(handler, "__qualname__", repr(handler))
        async for event in self:
            try:
                await handler(event)
            except Exception:
                logger.exception("event handler %s failed on %s event %s", name, event.type, event.id)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class DeliveryStats:
    """A read-only snapshot of one process's subscriptions, for metrics."""

    subscriptions: int  # open now
    queued: int  # events waiting in their queues now
    dropped: int  # events discarded because a queue was full, since start (never decreases)


class Fanout:
    """This process's subscriptions; delivery never awaits, so it is atomic on the event loop."""

    def __init__(self) -> None:
        self._subscriptions: set[Subscription] = set()
        self._dropped_by_closed = 0  # so that the total does not shrink when a subscription that dropped ends

    def subscribe(self, *, types: Collection[str] | None, queue_size: int) -> Subscription:
        subscription = Subscription(types=types, queue_size=queue_size, on_close=self._forget)
        self._subscriptions.add(subscription)
        return subscription

    def _forget(self, subscription: Subscription) -> None:
        if subscription in self._subscriptions:
            self._subscriptions.discard(subscription)
            self._dropped_by_closed += subscription.dropped

    def stats(self) -> DeliveryStats:
        open_now = tuple(self._subscriptions)
        return DeliveryStats(
            subscriptions=len(open_now),
            queued=sum(subscription.queued for subscription in open_now),
            dropped=self._dropped_by_closed + sum(subscription.dropped for subscription in open_now),
        )

    def deliver(self, event: Event) -> None:
        for subscription in tuple(self._subscriptions):
            subscription._offer(event)

    def close(self) -> None:
        for subscription in tuple(self._subscriptions):
            subscription.close()
