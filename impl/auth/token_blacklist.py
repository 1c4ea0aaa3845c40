"""Revoked access tokens (by `jti`), kept until the token would have expired anyway.

In-process by default; with Redis every worker and replica sees a revocation at once. An unreachable Redis fails
closed: the check raises a 503 problem rather than let a possibly revoked token through.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from impl.platform.problems import ProblemError


class TokenBlacklistUnavailableError(ProblemError):
    status = 503

    def __init__(self) -> None:
        super().__init__("The token revocation store is unavailable; retry shortly.", headers={"Retry-After": "2"})


class TokenBlacklist(Protocol):
    async def revoke(self, *, token_id: str, expires_at: int) -> None: ...
    async def is_revoked(self, token_id: str) -> bool: ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...


class MemoryTokenBlacklist:
    """One process's revocations; entries past their token's expiry are dropped as new ones arrive."""

    PRUNE_EVERY = 256

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._revoked: dict[str, int] = {}

    async def revoke(self, *, token_id: str, expires_at: int) -> None:
        if expires_at <= self._clock():
            return
        self._revoked[token_id] = expires_at
        if len(self._revoked) % self.PRUNE_EVERY == 0:
            now = self._clock()
            self._revoked = {jti: exp for jti, exp in self._revoked.items() if exp > now}

    async def is_revoked(self, token_id: str) -> bool:
        expires_at = self._revoked.get(token_id)
        return expires_at is not None and expires_at > self._clock()

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None


class RedisTokenBlacklist:
    def __init__(
        self, *, redis_url: str, key_prefix: str = "charter:revoked:", clock: Callable[[], float] = time.time
    ) -> None:
        # Short timeouts: a hung Redis costs a request half a second and a 503, not the whole request budget.
        self._redis: Redis = Redis.from_url(redis_url, socket_timeout=0.5, socket_connect_timeout=0.5)
        self._prefix = key_prefix
        self._clock = clock

    async def revoke(self, *, token_id: str, expires_at: int) -> None:
        if expires_at <= self._clock():
            return
        try:
            await self._redis.set(f"{self._prefix}{token_id}", b"1", exat=expires_at)
        except (RedisError, OSError) as error:
            raise TokenBlacklistUnavailableError from error

    async def is_revoked(self, token_id: str) -> bool:
        try:
            return bool(await self._redis.exists(f"{self._prefix}{token_id}"))
        except (RedisError, OSError) as error:
            raise TokenBlacklistUnavailableError from error

    async def ping(self) -> None:
        try:
            await self._redis.ping()
        except (RedisError, OSError) as error:
            raise TokenBlacklistUnavailableError from error

    async def close(self) -> None:
        await self._redis.aclose()


def create_token_blacklist(*, redis_url: str | None) -> TokenBlacklist:
    return RedisTokenBlacklist(redis_url=redis_url) if redis_url else MemoryTokenBlacklist()
