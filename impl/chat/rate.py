"""A per-connection sliding-window limit: at most ``amount`` messages in any ``seconds``.

One small deque per connection, in memory: the limit protects this worker from one socket's flood, and a socket
lives on one worker, so nothing needs sharing (unlike the HTTP limits, which Redis shares across workers).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    def __init__(self, *, amount: int, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        if amount < 1 or seconds <= 0:
            raise ValueError("amount and seconds must be positive")
        self._amount = amount
        self._seconds = seconds
        self._clock = clock
        self._hits: deque[float] = deque()

    def hit(self) -> bool:
        """Count one message; False (and not counted) when the window is full."""
        now = self._clock()
        while self._hits and now - self._hits[0] >= self._seconds:
            self._hits.popleft()
        if len(self._hits) >= self._amount:
            return False
        self._hits.append(now)
        return True
