"""A TTL cache: in-process by default, Redis when ``REDIS_URL`` is set; used directly or as a read-through decorator.

The one guarantee that matters: **a write is never followed by a stale read** (beyond a failed, reported
invalidation). Every key has a *generation* that :meth:`Cache.delete` bumps. The read-through path reads the
generation *before* it loads from the source of truth and stores the loaded value only if the generation is
unchanged (:meth:`Cache.set_if_generation`, atomic). So a writer that commits and then deletes while a reader is
still loading makes the reader's store a no-op: the reader may have loaded the old data, but it cannot put it in
the cache, and the next read loads fresh data.

Writers must call ``delete`` *after* their write is committed. Reads and stores fail open (a broken cache is a
miss), but invalidation does not: when Redis cannot be reached, ``delete`` raises :class:`CacheUnavailableError`
(503), so the write is not acknowledged as if all were well. The write itself has happened then; an entry stored
before it can survive at most its TTL, and only if Redis comes back within that TTL (while it is down every read
misses and goes to the source of truth).
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import ClassVar, Generic, ParamSpec, Protocol, TypeVar

from pydantic import TypeAdapter

from impl.platform.circuit_breaker import BreakerOpenError, DependencyBreaker, single_failure_breaker
from impl.platform.problems import ProblemError
from impl.platform.redis_client import redis_client
from impl.platform.redis_errors import redis_errors

logger = logging.getLogger("charter.cache")

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_PREFIX = "charter:cache:"
# A generation key outlives the key's last delete by this long; see RedisCache for why expiring it is safe.
DEFAULT_GENERATION_TTL_SECONDS = 86_400.0
# Returned by ``generation`` when it cannot be read: real generations are >= 0, so storing with it always fails.
UNKNOWN_GENERATION = -1


class CacheUnavailableError(ProblemError):
    """Invalidation could not reach the cache: the write must not be reported as a plain success."""

    status: ClassVar[int] = 503

    def __init__(self, *, retry_after_seconds: int = 1) -> None:
        super().__init__("The cache is unavailable; retry shortly.", headers={"Retry-After": str(retry_after_seconds)})


class Cache(Protocol):
    @property
    def generation_ttl(self) -> float:
        """Seconds a key's generation survives its last delete (``math.inf``: forever).

        A generation read longer ago than half this must not be used with ``set_if_generation``.
        """
        ...

    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        """Store unconditionally: for values that do not mirror a source a writer may change concurrently."""
        ...

    async def delete(self, *keys: str) -> None:
        """Invalidate: remove each value and bump its generation. Raises CacheUnavailableError if it cannot."""
        ...

    async def generation(self, key: str) -> int: ...

    async def set_if_generation(self, key: str, value: bytes, *, ttl: float, generation: int) -> bool:
        """Store only if no delete of ``key`` happened since ``generation`` was read; True when stored."""
        ...

    async def close(self) -> None: ...


def _check_ttl(ttl: float) -> None:
    # A programming error, raised before any backend is touched so that fail-open handling never hides it.
    if not (ttl > 0 and math.isfinite(ttl)):
        raise ValueError(f"ttl must be a positive, finite number of seconds, not {ttl!r}")


class MemoryCache:
    """One process's cache: an LRU bounded by ``max_entries``, expiring by ``time.monotonic()``.

    Every method runs without awaiting, so each is atomic on the event loop and needs no lock. It is not
    thread-safe and not shared between workers: with several workers, configure Redis.
    """

    def __init__(self, *, max_entries: int = 10_000) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self._max_entries = max_entries
        self._entries: OrderedDict[str, tuple[bytes, float]] = OrderedDict()  # key -> (value, expires at)
        # Generations are bounded too (a process may delete many distinct keys). Each delete takes the next value
        # of one counter, and a key without an entry has generation ``_floor``, the largest value ever evicted.
        # So a key's generation after a delete is larger than anything it returned before, even once its entry
        # is evicted: a reader can never see "its" old generation again. Evictions only raise the floor, which
        # makes some concurrent stores fail: a lost store, never a stale one.
        self._generations: OrderedDict[str, int] = OrderedDict()
        self._counter = 0
        self._floor = 0

    @property
    def generation_ttl(self) -> float:
        return math.inf

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        value, expires_at = entry
        if time.monotonic() >= expires_at:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        _check_ttl(ttl)
        self._entries[key] = (value, time.monotonic() + ttl)
        self._entries.move_to_end(key)
        if len(self._entries) > self._max_entries:
            self._entries.popitem(last=False)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._entries.pop(key, None)
            self._counter += 1
            self._generations[key] = self._counter
            self._generations.move_to_end(key)
            if len(self._generations) > self._max_entries:
                _, evicted = self._generations.popitem(last=False)
                self._floor = max(self._floor, evicted)

    async def generation(self, key: str) -> int:
        return self._generations.get(key, self._floor)

    async def set_if_generation(self, key: str, value: bytes, *, ttl: float, generation: int) -> bool:
        _check_ttl(ttl)
        if self._generations.get(key, self._floor) != generation:
            return False
        await self.set(key, value, ttl=ttl)
        return True

    async def close(self) -> None:
        self._entries.clear()


# KEYS = value key, generation key; ARGV = value, ttl ms, expected generation. Atomic: no delete can slip in
# between the comparison and the SET.
_SET_IF_GENERATION = """
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[3]) then
    return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""

# KEYS = value key, generation key, value key, generation key, ...; ARGV = generation ttl ms.
_DELETE = """
for i = 1, #KEYS, 2 do
    redis.call('DEL', KEYS[i])
    redis.call('INCR', KEYS[i + 1])
    redis.call('PEXPIRE', KEYS[i + 1], ARGV[1])
end
return 0
"""


# Connection refused, reset, timed out, or an error reply: redis-py raises RedisError subclasses, but an OSError
# (TimeoutError included) can surface from the socket layer directly.
# BreakerOpenError: the app's Redis breaker is open, so the call was not even tried.
def _failures() -> tuple[type[Exception], ...]:
    return (*redis_errors("RedisError"), OSError, BreakerOpenError)


def _milliseconds(seconds: float) -> int:
    return max(1, math.ceil(seconds * 1000))


class RedisCache:
    """The cache shared by every worker, in Redis; every key lives under ``prefix``.

    Layout: ``<prefix>v:<key>`` holds the value, ``<prefix>g:<key>`` the generation (absent means 0). Both
    scripts touch two keys, so this targets a single Redis (or a primary with replicas), not Redis Cluster.

    Generation keys expire ``generation_ttl`` after the key's last delete, so they do not pile up forever. An
    expired generation reads as 0 again, so a reader holding a generation read before that delete could see it
    match once more (0 after expiry, or an old value reached again by later deletes). That needs the reader's
    load to have lasted longer than ``generation_ttl``; the rule, enforced by :class:`Cached`, is that a reader
    whose load took longer than *half* of it (margin for network latency and clock drift) does not store.

    When Redis fails, reads and stores fail open (a miss, a skipped store; one warning) and ``delete`` raises
    :class:`CacheUnavailableError`. Every call goes through ``breaker`` (the app's one for Redis), so a hung server
    costs a few socket timeouts, then none while the breaker is open. Without one, the cache gets its own that
    opens at the first failure for ``failure_backoff`` seconds.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        generation_ttl: float = DEFAULT_GENERATION_TTL_SECONDS,
        socket_timeout: float = 0.5,
        max_connections: int = 100,
        failure_backoff: float = 1.0,
        breaker: DependencyBreaker | None = None,
    ) -> None:
        _check_ttl(generation_ttl)
        self._prefix = prefix
        self._generation_ttl = generation_ttl
        self._breaker = breaker or single_failure_breaker(name="redis", backoff_seconds=failure_backoff)
        self._client = redis_client(url, max_connections=max_connections, socket_timeout=socket_timeout)
        self._set_if_generation = self._client.register_script(_SET_IF_GENERATION)
        self._delete = self._client.register_script(_DELETE)

    @property
    def generation_ttl(self) -> float:
        return self._generation_ttl

    def _value_key(self, key: str) -> str:
        return f"{self._prefix}v:{key}"

    def _generation_key(self, key: str) -> str:
        return f"{self._prefix}g:{key}"

    @staticmethod
    def _failed(operation: str, exc: Exception) -> None:
        # The exception's type and message only: never the value or the URL (it may hold a password). Nothing while
        # the breaker is open: it logged its opening, and a warning per request would drown the log.
        if not isinstance(exc, BreakerOpenError):
            logger.warning("cache %s failed (%s: %s); treating it as a miss", operation, type(exc).__name__, exc)

    async def get(self, key: str) -> bytes | None:
        try:
            value = await self._breaker.call(self._client.get, self._value_key(key))
        except _failures() as exc:
            self._failed("get", exc)
            return None
        # decode_responses is off, so a value is bytes; anything else is not ours to trust.
        return value if isinstance(value, bytes) else None

    async def set(self, key: str, value: bytes, *, ttl: float) -> None:
        _check_ttl(ttl)
        try:
            await self._breaker.call(self._client.set, self._value_key(key), value, px=_milliseconds(ttl))
        except _failures() as exc:
            self._failed("set", exc)

    async def delete(self, *keys: str) -> None:
        if not keys:
            return
        script_keys = [name for key in keys for name in (self._value_key(key), self._generation_key(key))]
        try:
            await self._breaker.call(self._delete, keys=script_keys, args=[_milliseconds(self._generation_ttl)])
        except _failures() as exc:
            if not isinstance(exc, BreakerOpenError):
                logger.warning("cache invalidation failed (%s: %s)", type(exc).__name__, exc)
            raise CacheUnavailableError(retry_after_seconds=self._breaker.retry_after_seconds) from exc

    async def generation(self, key: str) -> int:
        try:
            value = await self._breaker.call(self._client.get, self._generation_key(key))
        except _failures() as exc:
            self._failed("generation read", exc)
            return UNKNOWN_GENERATION
        return 0 if value is None else int(value)

    async def set_if_generation(self, key: str, value: bytes, *, ttl: float, generation: int) -> bool:
        _check_ttl(ttl)
        if generation == UNKNOWN_GENERATION:
            return False
        keys = [self._value_key(key), self._generation_key(key)]
        try:
            stored = await self._breaker.call(
                self._set_if_generation, keys=keys, args=[value, _milliseconds(ttl), generation]
            )
        except _failures() as exc:
            self._failed("set", exc)
            return False
        return bool(stored)

    async def close(self) -> None:
        await self._client.aclose()


def create_cache(
    *, redis_url: str | None, max_entries: int = 10_000, breaker: DependencyBreaker | None = None
) -> Cache:
    """The cache the settings ask for: Redis when a URL is given (calls through ``breaker``), else in-process."""
    if redis_url:
        return RedisCache(redis_url, breaker=breaker)
    return MemoryCache(max_entries=max_entries)


class Codec(Protocol[T]):
    def encode(self, value: T) -> bytes: ...

    def decode(self, data: bytes) -> T:
        """Raises ValueError when ``data`` is not a valid encoding (e.g. written by an older release)."""
        ...


class PydanticCodec(Generic[T]):
    """JSON through a pydantic TypeAdapter: models, lists of models, plain types."""

    def __init__(self, type_: type[T] | TypeAdapter[T]) -> None:
        self._adapter: TypeAdapter[T] = type_ if isinstance(type_, TypeAdapter) else TypeAdapter(type_)

    def encode(self, value: T) -> bytes:
        return self._adapter.dump_json(value)

    def decode(self, data: bytes) -> T:
        return self._adapter.validate_json(data)  # pydantic's ValidationError is a ValueError


class Cached(Generic[P, T]):
    """A read-through cached loader; ``hits`` and ``misses`` count calls (for metrics).

    ``keep_decoded`` (for immutable values only): up to that many decoded values are kept, each with the stored
    bytes it came from. A hit whose bytes are the same (whichever store they came from) returns the value already
    decoded, the same object, instead of decoding again: decoding a user was a tenth of a cached read
    (docs/performance.md#decoded-cache). A changed entry has other bytes, so it is decoded afresh.
    """

    def __init__(
        self,
        loader: Callable[P, Awaitable[T]],
        *,
        cache: Cache,
        ttl: float,
        key: Callable[P, str],
        codec: Codec[T],
        keep_decoded: int = 0,
    ) -> None:
        _check_ttl(ttl)
        self._keep_decoded = keep_decoded
        self._decoded: dict[str, tuple[bytes, T]] = {}
        self._loader = loader
        self._cache = cache
        self._ttl = ttl
        self._key = key
        self._codec = codec
        self.hits = 0
        self.misses = 0
        self.__name__ = getattr(loader, "__name__", type(self).__name__)
        self.__doc__ = getattr(loader, "__doc__", None)
        self.__wrapped__ = loader

    async def __call__(self, *args: P.args, **kwargs: P.kwargs) -> T:
        key = self._key(*args, **kwargs)
        data = await self._cache.get(key)
        if data is not None:
            kept = self._decoded.get(key)
            if kept is not None and kept[0] == data:
                self.hits += 1
                return kept[1]
            try:
                value = self._codec.decode(data)
            except ValueError:
                # E.g. the model changed between releases: reload and overwrite. The key may name a person, so
                # only the loader is logged.
                logger.warning("undecodable cache entry for %s; reloading it", self.__name__)
            else:
                self.hits += 1
                self._keep(key, data, value)
                return value
        self.misses += 1
        # The generation is read BEFORE the load: a delete from here on makes the store below a no-op.
        started = time.monotonic()
        generation = await self._cache.generation(key)
        value = await self._loader(*args, **kwargs)
        if time.monotonic() - started < self._cache.generation_ttl / 2:
            await self._cache.set_if_generation(key, self._codec.encode(value), ttl=self._ttl, generation=generation)
        return value

    def _keep(self, key: str, data: bytes, value: T) -> None:
        if not self._keep_decoded:
            return
        if len(self._decoded) >= self._keep_decoded and key not in self._decoded:
            # Oldest first (dicts keep insertion order): the least recently decoded goes.
            del self._decoded[next(iter(self._decoded))]
        self._decoded[key] = (data, value)

    async def invalidate(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Delete the entry these arguments map to; call it after the write is committed."""
        key = self._key(*args, **kwargs)
        self._decoded.pop(key, None)  # not needed for correctness (other bytes come next), but frees it at once
        await self._cache.delete(key)


def cached(
    cache: Cache, *, ttl: float, key: Callable[P, str], codec: Codec[T], keep_decoded: int = 0
) -> Callable[[Callable[P, Awaitable[T]]], Cached[P, T]]:
    """Decorate an async loader with a read-through cache (see :class:`Cached`)."""

    def decorate(loader: Callable[P, Awaitable[T]]) -> Cached[P, T]:
        return Cached(loader, cache=cache, ttl=ttl, key=key, codec=codec, keep_decoded=keep_decoded)

    return decorate
