"""A circuit breaker per dependency (``circuitbreaker``): a dead dependency costs a few timeouts, then none.

Every store that talks to the dependency runs its network calls through the same :class:`DependencyBreaker`.
After ``failure_threshold`` consecutive *outages* (the dependency unreachable or too slow, not an error reply) it
opens: for ``recovery_timeout`` seconds every call fails at once with :class:`BreakerOpenError`, which each store
turns into its usual "unavailable" answer (a miss, a degraded rate limit, a 503), with ``retry_after_seconds`` as
Retry-After. Then it is half-open: the next calls try the dependency; a success closes it, an outage opens it again.
Any answer from the dependency (a success or an error reply) proves it is reachable and closes the breaker.
:meth:`DependencyBreaker.probe` is for health checks: it asks the dependency even while the breaker is open, and
its outcome counts, so a readiness probe sees a recovery at once and closes the breaker for everyone.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Final, Literal, ParamSpec, TypeVar

# The library ships no type information: these are the only names used, with the types they have.
from circuitbreaker import STATE_CLOSED, STATE_HALF_OPEN, STATE_OPEN  # type: ignore[import-untyped]
from circuitbreaker import CircuitBreaker as _LibraryBreaker
from limits.errors import StorageError

from impl.platform.redis_errors import redis_errors

logger = logging.getLogger("charter.circuit_breaker")

P = ParamSpec("P")
T = TypeVar("T")

# The defaults of the app's breakers (the settings REDIS_BREAKER_* and DB_BREAKER_* start from the same values) and
# of a store built alone: five consecutive outages are not a blip, yet cost a request at most five short socket
# timeouts (~0.5-1 s each) before everyone fails fast; 2 s is short enough that a restart is noticed almost at
# once, and long enough that a dead dependency is tried at most every 2 s.
FAILURE_THRESHOLD: Final = 5
RECOVERY_TIMEOUT_SECONDS: Final = 2.0

BreakerState = Literal["closed", "open", "half_open"]
_STATES: Final[dict[str, BreakerState]] = {STATE_CLOSED: "closed", STATE_OPEN: "open", STATE_HALF_OPEN: "half_open"}
# The value of charter_circuit_breaker_state{dependency}, ordered by severity: with several workers the gauge shows
# the highest value among the live ones (one open worker reads as open, never as a sum that means something else).
STATE_CODES: Final[dict[BreakerState, int]] = {"closed": 0, "half_open": 1, "open": 2}


class DependencyUnreachableError(Exception):
    """A store's own "unreachable" verdict without an exception of its own (e.g. a health check answering False)."""


class BreakerOpenError(Exception):
    """The breaker is open: the call was refused without touching the dependency."""

    def __init__(self, *, dependency: str, retry_after_seconds: int) -> None:
        super().__init__(f"the {dependency} circuit breaker is open; retry in {retry_after_seconds} s")
        self.retry_after_seconds = retry_after_seconds


# redis-py's ConnectionError and TimeoutError are RedisError subclasses, not the builtins; OSError covers the socket
# layer (the builtin ConnectionError and TimeoutError included). A ResponseError is an answer, not an outage.
def _outages() -> tuple[type[Exception], ...]:
    return (*redis_errors("ConnectionError", "TimeoutError"), OSError, DependencyUnreachableError)


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means the dependency could not be reached (limits may wrap the original in StorageError)."""
    if isinstance(error, StorageError):
        return isinstance(error.storage_error, _outages())
    return isinstance(error, _outages())


class _Breaker(_LibraryBreaker):  # type: ignore[misc]  # the base is untyped (Any)
    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> bool:
        # The library resets (closes) on anything its predicate does not call a failure, cancellation included: a
        # request timeout or a readiness deadline cancelling a call to a hung Redis would then close the breaker.
        # A cancelled call proves nothing either way, so it neither counts nor resets.
        if exc_type is not None and not issubclass(exc_type, Exception):
            return False
        result: bool = super().__exit__(exc_type, exc, traceback)
        return result


class DependencyBreaker:
    """One dependency's breaker, created by the app factory and shared by every store that uses the dependency."""

    def __init__(
        self,
        *,
        name: str,
        failure_threshold: int = FAILURE_THRESHOLD,
        recovery_timeout_seconds: float = RECOVERY_TIMEOUT_SECONDS,
        is_failure: Callable[[BaseException], bool] = is_outage,
    ) -> None:
        if failure_threshold < 1 or not (recovery_timeout_seconds > 0 and math.isfinite(recovery_timeout_seconds)):
            raise ValueError("a breaker needs failure_threshold >= 1 and a positive, finite recovery timeout")
        self.name = name
        self._recovery_timeout = recovery_timeout_seconds
        # Not the library's ``decorate``: it registers every breaker in a process-wide monitor (global state that
        # would outlive the app); ``call`` below does the same open check and then the library's ``call_async``.
        self._breaker = _Breaker(
            failure_threshold=failure_threshold,
            recovery_timeout=recovery_timeout_seconds,
            expected_exception=lambda _type, error: is_failure(error),
            name=name,
        )

    async def call(self, operation: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await ``operation``, or raise BreakerOpenError at once while the breaker is open."""
        before = self.state
        if before == "open":
            raise BreakerOpenError(dependency=self.name, retry_after_seconds=self.retry_after_seconds)
        try:
            result: T = await self._breaker.call_async(operation, *args, **kwargs)
        except Exception as error:
            if self._breaker.opened:
                # It was not open when this call started: logged when it opens (calls already in flight then may
                # repeat it), never per refused call; the stores log the outages they see themselves.
                logger.warning(
                    "%s circuit breaker opened (%s: %s); failing fast for %g s",
                    self.name,
                    type(error).__name__,
                    error,
                    self._recovery_timeout,
                )
            raise
        if before == "half_open":
            logger.info("%s circuit breaker closed: the dependency answers again", self.name)
        return result

    async def probe(self, operation: Callable[P, Awaitable[T]], *args: P.args, **kwargs: P.kwargs) -> T:
        """Await ``operation`` whatever the state (for health checks, which must see the dependency itself).

        Its outcome counts like a call's: an outage adds to the count (and re-opens an open breaker for a full
        recovery timeout), an answer closes the breaker, so the service recovers as soon as a probe sees it back.
        """
        before = self.state
        with self._breaker:
            result: T = await operation(*args, **kwargs)
        if before != "closed":
            logger.info("%s circuit breaker closed: a health check reached the dependency", self.name)
        return result

    @property
    def state(self) -> BreakerState:
        return _STATES[self._breaker.state]

    @property
    def state_code(self) -> int:
        return STATE_CODES[self.state]

    @property
    def retry_after_seconds(self) -> int:
        """When a client should retry: the rest of the open time, at least 1 (also when not open)."""
        if self._breaker.opened:
            remaining: float = self._breaker.open_remaining
            return max(1, math.ceil(remaining))
        return 1


def single_failure_breaker(*, name: str, backoff_seconds: float) -> DependencyBreaker:
    """For a store built without a shared breaker: one outage skips the dependency for ``backoff_seconds``."""
    # The library reads a timeout of 0 as "use the default" (30 s): a tiny positive one means "retry at once".
    return DependencyBreaker(name=name, failure_threshold=1, recovery_timeout_seconds=max(backoff_seconds, 1e-6))
