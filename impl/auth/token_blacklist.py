"""Revoked tokens (by `jti`), kept until the token would have expired anyway; after that its `exp` rejects it.

In-process by default; with Redis every worker and replica sees a revocation at once. An unreachable Redis fails
closed: both the check and the revocation raise a 503 problem, so a possibly revoked token is never let through
and a logout is never reported done when it is not.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable
from typing import ClassVar, Protocol

from impl.platform.circuit_breaker import BreakerOpenError, DependencyBreaker
from impl.platform.problems import ProblemError
from impl.platform.redis_client import redis_client
from impl.platform.redis_errors import redis_errors

DEFAULT_PREFIX = "charter:revoked:"


# Connection refused, reset, timed out, or an error reply: redis-py raises RedisError subclasses, but an OSError
# (TimeoutError included) can surface from the socket layer directly.
# BreakerOpenError: the app's Redis breaker is open, so the call was not even tried (fails closed all the same).
def _redis_failures() -> tuple[type[Exception], ...]:
    return (*redis_errors("RedisError"), OSError, BreakerOpenError)


class TokenBlacklistUnavailableError(ProblemError):
    """The revocation store cannot be reached: the request is refused (503), neither allowed nor a 500."""

    status: ClassVar[int] = 503

    def __init__(self, *, retry_after_seconds: int = 1) -> None:
        super().__init__(
            "The token revocation store is unavailable; retry shortly.",
            headers={"Retry-After": str(retry_after_seconds)},
        )


class TokenBlacklist(Protocol):
    async def revoke(self, *, token_id: str, expires_at: int) -> None:
        """Reject ``token_id`` until ``expires_at`` (Unix seconds). Raises TokenBlacklistUnavailableError."""
        ...

    async def is_revoked(self, token_id: str) -> bool:
        """Raises TokenBlacklistUnavailableError rather than answer False without knowing."""
        ...

    async def any_revoked(self, *token_ids: str) -> bool:
        """Whether any of these is revoked, in one look-up (one round trip to Redis): the guard asks for the token
        and its session on every request."""
        ...

    async def ping(self) -> None:
        """For readiness; raises TokenBlacklistUnavailableError when the store is down."""
        ...

    async def close(self) -> None: ...


class MemoryTokenBlacklist:
    """One process's revocations (not shared between workers: configure Redis for that).

    Expired entries are dropped a few at a time on every call, oldest expiry first, so no call does unbounded work
    and memory stays proportional to the tokens revoked within one token lifetime. No method awaits, so each is
    atomic on the event loop.
    """

    PRUNE_PER_CALL = 16

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._revoked: dict[str, int] = {}  # jti -> exp
        self._expiries: list[tuple[int, str]] = []  # a heap of (exp, jti); may hold stale pairs, skipped on pop

    def __len__(self) -> int:
        return len(self._revoked)

    async def revoke(self, *, token_id: str, expires_at: int) -> None:
        self._prune()
        if expires_at <= self._clock():
            return  # the token's own exp already rejects it
        if expires_at <= self._revoked.get(token_id, 0):
            return
        self._revoked[token_id] = expires_at
        heapq.heappush(self._expiries, (expires_at, token_id))

    async def is_revoked(self, token_id: str) -> bool:
        return await self.any_revoked(token_id)

    async def any_revoked(self, *token_ids: str) -> bool:
        self._prune()
        now = self._clock()
        return any(
            (expires_at := self._revoked.get(token_id)) is not None and expires_at > now for token_id in token_ids
        )

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._revoked.clear()
        self._expiries.clear()

    def _prune(self) -> None:
        now = self._clock()
        for _ in range(self.PRUNE_PER_CALL):
            if not self._expiries or self._expiries[0][0] > now:
                return
            expires_at, token_id = heapq.heappop(self._expiries)
            if self._revoked.get(token_id) == expires_at:
                del self._revoked[token_id]


class RedisTokenBlacklist:
    """Revocations shared by every worker: ``<prefix><jti>`` set to expire at the token's own ``exp``.

    Every call goes through ``breaker`` (the app's one for Redis; without it, one of its own): while it is open the
    store answers 503 at once instead of waiting for a socket timeout.
    """

    def __init__(
        self,
        *,
        redis_url: str,
        key_prefix: str = DEFAULT_PREFIX,
        socket_timeout: float = 0.5,
        clock: Callable[[], float] = time.time,
        breaker: DependencyBreaker | None = None,
    ) -> None:
        self._breaker = breaker or DependencyBreaker(name="redis")
        # Fail-fast options (impl/platform/redis_client.py): a hung Redis costs a request about a second and a 503,
        # not the whole request budget.
        self._redis = redis_client(redis_url, max_connections=100, socket_timeout=socket_timeout)
        self._prefix = key_prefix
        self._clock = clock

    def key(self, token_id: str) -> str:
        return f"{self._prefix}{token_id}"

    async def revoke(self, *, token_id: str, expires_at: int) -> None:
        if expires_at <= self._clock():
            return  # the token's own exp already rejects it; SET ... EXAT in the past would be an error
        try:
            await self._breaker.call(self._redis.set, self.key(token_id), b"1", exat=expires_at)
        except _redis_failures() as error:
            raise self._unavailable() from error

    async def is_revoked(self, token_id: str) -> bool:
        return await self.any_revoked(token_id)

    async def any_revoked(self, *token_ids: str) -> bool:
        if not token_ids:
            return False
        try:
            # EXISTS counts how many of the keys exist: one command for all of them.
            return bool(await self._breaker.call(self._redis.exists, *(self.key(token_id) for token_id in token_ids)))
        except _redis_failures() as error:
            raise self._unavailable() from error

    async def ping(self) -> None:
        try:
            await self._breaker.call(self._redis.ping)
        except _redis_failures() as error:
            raise self._unavailable() from error

    def _unavailable(self) -> TokenBlacklistUnavailableError:
        return TokenBlacklistUnavailableError(retry_after_seconds=self._breaker.retry_after_seconds)

    async def close(self) -> None:
        await self._redis.aclose()


def create_token_blacklist(*, redis_url: str | None, breaker: DependencyBreaker | None = None) -> TokenBlacklist:
    """Redis when a URL is given (several workers share it; calls go through ``breaker``), else in-process."""
    if redis_url:
        return RedisTokenBlacklist(redis_url=redis_url, breaker=breaker)
    return MemoryTokenBlacklist()
