"""Work gathered during one iteration of the event loop and done together at its end.

The edge middleware's bookkeeping after each answer (the access line, the request counters) does not need to happen
inside the request. Gathered and done once per iteration of the loop, it is one write instead of one per request,
and its code and data stay in the processor's caches from one item to the next: done one request at a time, that
bookkeeping was half of what the edge did per request (docs/performance.md#iteration-batch).

An item waits no longer than the loop's current iteration: the settling is scheduled with ``call_soon`` when the
first item arrives, so it runs after the callbacks already ready, before the loop next waits for I/O. Readers that
must see every item so far (a scrape, a log reader, a record written after these lines) call :meth:`settle` first.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class IterationBatch(Generic[T]):
    """Items handed to ``settle`` together, at the end of the loop iteration in which they were added.

    ``lock`` guards the items and is held while they are settled (a log handler passes its own, so that its stream
    keeps the order in which lines were made). Items may come from several loops in several threads (a test
    client runs its own); outside any loop an item is settled at once.
    """

    def __init__(
        self, settle: Callable[[list[T]], None], *, lock: threading.Lock | threading.RLock | None = None
    ) -> None:
        self._settle_items = settle
        self._lock = threading.Lock() if lock is None else lock
        self._items: list[T] = []
        self._scheduled_on: asyncio.AbstractEventLoop | None = None

    def __bool__(self) -> bool:
        """Whether items are waiting."""
        return bool(self._items)

    def add(self, item: T) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        with self._lock:
            self._items.append(item)
            schedule = loop is not None and self._scheduled_on is not loop
            if schedule:
                # A settling another loop scheduled may never run (that loop stopped): this loop schedules its own.
                self._scheduled_on = loop
        if loop is None:
            self.settle()
        elif schedule:
            loop.call_soon(self.settle)

    def settle(self) -> None:
        """Hands every waiting item to ``settle`` now (nothing happens when none waits)."""
        with self._lock:
            items, self._items = self._items, []
            self._scheduled_on = None
            if items:
                self._settle_items(items)
