"""Rate limiting: named policies counted in the ``limits`` library's storage, answered as IETF RateLimit headers.

The engine knows no domain: callers name a policy ("auth", "general", ...) and a key (a client address, an
account) and get an outcome. Storage is in-process (``limits`` MemoryStorage: one worker only, for development)
or Redis, shared by every worker so that N workers do not grant N budgets.

When the storage cannot be reached, a policy says what happens (security requirements, "Rate limiting"): a
fail-open policy lets the request through and marks the outcome ``degraded`` (no headers, since the numbers are
unknown); a fail-closed policy (auth) refuses with a 503 problem. Never a 500. Every storage call goes through a
circuit breaker (the app's one for Redis), so a hung Redis costs a few socket timeouts, then none while it is open.

Counting and reading the window are two storage calls; under concurrency ``remaining`` and the reset time are a
close estimate, while the allow/refuse decision itself is atomic in the storage.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal, get_args

from limits import RateLimitItem, RateLimitItemPerSecond, WindowStats, parse_many
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import (
    FixedWindowRateLimiter,
    MovingWindowRateLimiter,
    SlidingWindowCounterRateLimiter,
)
from limits.aio.strategies import RateLimiter as Strategy
from limits.errors import ConcurrentUpdateError, StorageError

from impl.platform.circuit_breaker import (
    BreakerOpenError,
    DependencyBreaker,
    DependencyUnreachableError,
    single_failure_breaker,
)
from impl.platform.problems import ProblemError
from impl.platform.redis_client import redis_pool
from impl.platform.redis_errors import redis_errors

if TYPE_CHECKING:
    import redis.asyncio

logger = logging.getLogger("charter.rate_limit")

StrategyName = Literal["moving-window", "fixed-window", "sliding-window-counter"]

# A policy name travels as a structured-field string in the headers and as one segment of the storage key, so it
# is kept to characters that need no escaping there and contain no key separator ("/").
_POLICY_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
# "5/300": five per 300 seconds; limits' own notation ("5/minute", "5 per 5 minutes") has a unit.
_PLAIN_RATE = re.compile(r"^\s*([0-9]+)\s*/\s*([0-9]+)\s*$")


# Connection refused, reset or timed out, or an error reply: redis-py raises RedisError subclasses, the socket
# layer OSError (TimeoutError included); limits wraps some in StorageError and gives up on contention with
# ConcurrentUpdateError. BreakerOpenError: the breaker is open and the storage was not even tried.
def _storage_failures() -> tuple[type[Exception], ...]:
    return (
        StorageError,
        ConcurrentUpdateError,
        *redis_errors("RedisError"),
        OSError,
        DependencyUnreachableError,
        BreakerOpenError,
    )


# The storage keys live under "<key_prefix>:ratelimit/<policy>/<key>/..." (limits appends amount and window).
_NAMESPACE = "ratelimit"
_STRATEGY_NAMES = frozenset(get_args(StrategyName))


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    name: str
    amount: int
    window_seconds: int
    strategy: StrategyName
    fail_closed: bool
    # "caller": counted by the guard, per user or client address; "session": by the operation itself, per login
    # session, once it knows which (the guard cannot: the session is named by a token in the body).
    counted_per: Literal["caller", "session"] = "caller"

    def __post_init__(self) -> None:
        if not _POLICY_NAME.match(self.name):
            raise ValueError(f"policy name {self.name!r} must be 1-64 of A-Z a-z 0-9 _ . - (a header token)")
        if self.counted_per not in ("caller", "session"):
            raise ValueError(f"policy {self.name!r}: counted_per must be caller or session, not {self.counted_per!r}")
        if self.amount < 1 or self.window_seconds < 1:
            raise ValueError(f"policy {self.name!r} needs amount >= 1 and window_seconds >= 1")
        if self.strategy not in _STRATEGY_NAMES:
            raise ValueError(f"policy {self.name!r} has unknown strategy {self.strategy!r}")


@dataclass(frozen=True, slots=True)
class RateLimitOutcome:
    """One counted request. ``enforced`` is False when the limiter is disabled: nothing was counted."""

    policy: RateLimitPolicy
    allowed: bool
    remaining: int
    reset_after_seconds: int
    degraded: bool
    enforced: bool = True

    def headers(self) -> dict[str, str]:
        """IETF httpapi RateLimit headers (structured fields); none when the numbers are not known."""
        if self.degraded or not self.enforced:
            return {}
        name = self.policy.name
        headers = {
            "RateLimit-Policy": f'"{name}";q={self.policy.amount};w={self.policy.window_seconds}',
            "RateLimit": f'"{name}";r={self.remaining};t={self.reset_after_seconds}',
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.reset_after_seconds)
        return headers


class RateLimitUnavailableError(ProblemError):
    """The storage is unreachable and the policy fails closed: refuse rather than count nothing."""

    status: ClassVar[int] = 503

    def __init__(self, *, retry_after_seconds: int = 1) -> None:
        super().__init__(
            "The rate-limit store is unreachable; retry shortly.",
            headers={"Retry-After": str(retry_after_seconds)},
        )


class RateLimitExceededError(ProblemError):
    """429 (RFC 6585) with the RateLimit headers and Retry-After of the outcome that refused the request."""

    status: ClassVar[int] = 429

    def __init__(self, *, outcome: RateLimitOutcome) -> None:
        policy = outcome.policy
        super().__init__(
            f"Too many requests under the {policy.name!r} limit ({policy.amount} per {policy.window_seconds} s);"
            f" retry in {outcome.reset_after_seconds} s.",
            headers=outcome.headers(),
        )
        self.outcome = outcome


def parse_rate(text: str) -> tuple[int, int]:
    """``"5/300"`` (per seconds) or limits' notation (``"5/minute"``, ``"5 per 5 minutes"``) -> (amount, seconds)."""
    if not isinstance(text, str):
        raise ValueError(f"a rate must be a string, not {type(text).__name__}")
    plain = _PLAIN_RATE.match(text)
    if plain:
        amount, seconds = int(plain.group(1)), int(plain.group(2))
    else:
        items = parse_many(text)  # ValueError on anything it cannot read
        if len(items) != 1:
            raise ValueError(f"expected one rate, got {len(items)} in {text!r}")
        amount, seconds = items[0].amount, items[0].get_expiry()
    if amount < 1 or seconds < 1:
        raise ValueError(f"a rate needs at least 1 request per at least 1 second, not {text!r}")
    return amount, seconds


def _storage_uri(redis_url: str) -> str:
    """The app's ``redis://`` URL in limits' async scheme (limits picks its storage class by scheme)."""
    for plain, async_scheme in (("redis://", "async+redis://"), ("rediss://", "async+rediss://")):
        if redis_url.startswith(plain):
            return async_scheme + redis_url.removeprefix(plain)
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    if redis_url.startswith(("async+redis://", "async+rediss://", "async+redis+unix://")):
        return redis_url
    raise ValueError("the rate-limit Redis URL must use redis://, rediss:// or unix://")


class RateLimiter:
    """Counts requests per (policy, key); one instance per app, created by the app factory.

    ``breaker`` is the app's circuit breaker for Redis; without one, the limiter gets its own that opens at the
    first failure for ``failure_backoff_seconds``.
    """

    def __init__(
        self,
        *,
        policies: Mapping[str, RateLimitPolicy],
        redis_url: str | None,
        enabled: bool = True,
        key_prefix: str = "charter",
        socket_timeout_seconds: float = 0.5,
        failure_backoff_seconds: float = 1.0,
        on_rejection: Callable[[str], None] | None = None,
        breaker: DependencyBreaker | None = None,
    ) -> None:
        for name, policy in policies.items():
            if name != policy.name:
                raise ValueError(f"policy registered as {name!r} is named {policy.name!r}")
        self._policies = dict(policies)
        self._enabled = enabled
        self._breaker = breaker or single_failure_breaker(name="redis", backoff_seconds=failure_backoff_seconds)
        # Told the policy's name whenever a request is over its budget (the metrics count rejections per policy).
        self._on_rejection = on_rejection
        self._items: dict[str, RateLimitItem] = {
            name: RateLimitItemPerSecond(policy.amount, policy.window_seconds, namespace=_NAMESPACE)
            for name, policy in policies.items()
        }
        self._pool: redis.asyncio.BlockingConnectionPool | None = None
        self._storage: Storage | None = None
        self._strategies: dict[str, Strategy] = {}
        if not enabled:
            return  # nothing is counted, so nothing is connected to
        if redis_url:
            # Our own pool, so that a dead Redis fails fast (impl/platform/redis_client.py).
            self._pool = redis_pool(redis_url, max_connections=100, socket_timeout=socket_timeout_seconds)
            # limits builds its client from the URL and options; given a pool it uses that one instead.
            self._storage = RedisStorage(
                _storage_uri(redis_url),
                implementation="redispy",
                key_prefix=key_prefix,
                connection_pool=self._pool,  # type: ignore[arg-type]  # limits types options narrowly
            )
        else:
            self._storage = MemoryStorage()
        self._strategies = {
            "moving-window": MovingWindowRateLimiter(self._storage),
            "fixed-window": FixedWindowRateLimiter(self._storage),
            "sliding-window-counter": SlidingWindowCounterRateLimiter(self._storage),
        }

    @staticmethod
    def _failed(operation: str, exc: BaseException) -> None:
        # The exception's type and message only: never the key (it may name a person) or the URL (a password).
        # Nothing while the breaker is open: it logged its opening, and a warning per request would drown the log.
        if not isinstance(exc, BreakerOpenError):
            logger.warning("rate-limit %s failed (%s: %s)", operation, type(exc).__name__, exc)

    def _unavailable(self, policy: RateLimitPolicy) -> RateLimitOutcome:
        if policy.fail_closed:
            raise RateLimitUnavailableError(retry_after_seconds=self._breaker.retry_after_seconds)
        return RateLimitOutcome(
            policy=policy,
            allowed=True,
            remaining=policy.amount,
            reset_after_seconds=policy.window_seconds,
            degraded=True,
        )

    def counted_per(self, policy: str) -> str:
        return self._policies[policy].counted_per

    async def hit(self, *, policy: str, key: str) -> RateLimitOutcome:
        """Count one request under ``policy`` for ``key``; the outcome says whether it is within the budget."""
        chosen = self._policies[policy]  # an unknown policy is a programming error: KeyError
        if not self._enabled:
            return RateLimitOutcome(
                policy=chosen,
                allowed=True,
                remaining=chosen.amount,
                reset_after_seconds=chosen.window_seconds,
                degraded=False,
                enforced=False,
            )
        strategy, item = self._strategies[chosen.strategy], self._items[policy]

        async def count() -> tuple[bool, WindowStats]:
            allowed = await strategy.hit(item, chosen.name, key)
            return allowed, await strategy.get_window_stats(item, chosen.name, key)

        try:
            allowed, stats = await self._breaker.call(count)
        except _storage_failures() as exc:
            self._failed("hit", exc)
            return self._unavailable(chosen)
        if not allowed and self._on_rejection is not None:
            self._on_rejection(chosen.name)
        return RateLimitOutcome(
            policy=chosen,
            allowed=allowed,
            remaining=max(0, stats.remaining),
            # At least 1: a client told "retry in 0 s" would retry at once and be refused again.
            reset_after_seconds=max(1, math.ceil(stats.reset_time - time.time())),
            degraded=False,
        )

    async def check(self, *, policy: str, key: str) -> None:
        """Like :meth:`hit`, but raise :class:`RateLimitExceededError` (429) when the request is over budget."""
        outcome = await self.hit(policy=policy, key=key)
        if not outcome.allowed:
            raise RateLimitExceededError(outcome=outcome)

    async def ping(self) -> None:
        """For readiness: raise RateLimitUnavailableError when the storage does not answer (at once if the breaker
        is open)."""
        storage = self._storage
        if storage is None:
            return  # disabled: there is no storage to be ready

        async def check() -> None:
            # limits' Redis check swallows errors and answers False: an outage for the breaker all the same.
            if not await storage.check():
                raise DependencyUnreachableError("the rate-limit storage check failed")

        try:
            await self._breaker.call(check)
        except _storage_failures() as exc:
            self._failed("ping", exc)
            raise RateLimitUnavailableError(retry_after_seconds=self._breaker.retry_after_seconds) from exc

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
        if isinstance(self._storage, MemoryStorage) and self._storage.timer is not None:
            self._storage.timer.cancel()  # its expiry task; the next hit would start a new one
