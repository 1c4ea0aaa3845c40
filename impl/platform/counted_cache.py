"""A cache that reports each lookup as a hit or a miss (for ``charter_cache_requests_total``).

It wraps whichever backend the settings chose, so the count is the same for the in-process cache and Redis, and the
cache itself stays free of metrics. A read that fails open (Redis unreachable) is a miss, as it is for the caller.
"""

from __future__ import annotations

from collections.abc import Callable

from impl.platform.cache import Cache


class CountedCache:
    """Implements :class:`impl.platform.cache.Cache` by delegation; ``on_lookup(hit)`` is called for every ``get``."""

    def __init__(self, cache: Cache, *, on_lookup: Callable[[bool], None]) -> None:
        self._cache = cache
        self._on_lookup = on_lookup

    @property
    def generation_ttl(self) -> float:
        return self._cache.generation_ttl

    async def get(self, key: str) -> bytes | None:
        value = await self._cache.get(key)
        self._on_lookup(value is not None)
        return value

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        await self._cache.set(key, value, ttl=ttl)

    async def delete(self, *keys: str) -> None:
        await self._cache.delete(*keys)

    async def generation(self, key: str) -> int:
        return await self._cache.generation(key)

    async def set_if_generation(self, key: str, value: bytes, *, ttl: float, generation: int) -> bool:
        return await self._cache.set_if_generation(key, value, ttl=ttl, generation=generation)

    async def close(self) -> None:
        await self._cache.close()
