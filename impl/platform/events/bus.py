"""The bus: in-process, or Redis pub/sub shared by every worker (see the package docstring)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, ClassVar, Protocol

from impl.platform.circuit_breaker import BreakerOpenError, DependencyBreaker
from impl.platform.events.event import Event, InvalidEventError
from impl.platform.events.subscription import DEFAULT_QUEUE_SIZE, DeliveryStats, Fanout, Subscription
from impl.platform.problems import ProblemError
from impl.platform.redis_client import redis_client, redis_listener
from impl.platform.redis_errors import redis_errors

if TYPE_CHECKING:
    import redis.asyncio

logger = logging.getLogger("charter.events")

DEFAULT_CHANNEL = "charter:events"


# redis-py raises RedisError subclasses, but an OSError (TimeoutError included) can surface from the socket directly.
def _redis_failures(*more: type[Exception]) -> tuple[type[Exception], ...]:
    return (*redis_errors("RedisError"), OSError, *more)


class EventBusUnavailableError(ProblemError):
    """Redis cannot be reached: the event was not published, and the caller must not report success."""

    status: ClassVar[int] = 503

    def __init__(self, *, retry_after_seconds: int = 1) -> None:
        super().__init__(
            "The event bus is unavailable; retry shortly.", headers={"Retry-After": str(retry_after_seconds)}
        )


class EventBus(Protocol):
    async def publish(self, event: Event) -> None:
        """Deliver to every matching subscription (in every worker with Redis). Raises EventBusUnavailableError."""
        ...

    def subscribe(self, *, types: Collection[str] | None = None, queue_size: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        """Subscribe now (events published from here on); use as ``async with bus.subscribe(...) as events:``.

        ``types`` holds exact types and prefix patterns (``"user.*"``); None means every event.
        """
        ...

    async def start(self) -> None: ...

    async def ping(self) -> None:
        """For readiness; raises EventBusUnavailableError when this process cannot publish or receive."""
        ...

    async def close(self) -> None:
        """Close every subscription (their iterations end) and release connections."""
        ...

    def stats(self) -> DeliveryStats:
        """This process's subscriptions, queued and dropped events (for metrics)."""
        ...


class MemoryEventBus:
    """One process's bus: with several workers each has its own (configure Redis to share events)."""

    def __init__(self) -> None:
        self._fanout = Fanout()

    async def publish(self, event: Event) -> None:
        self._fanout.deliver(event)

    def subscribe(self, *, types: Collection[str] | None = None, queue_size: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        return self._fanout.subscribe(types=types, queue_size=queue_size)

    async def start(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._fanout.close()

    def stats(self) -> DeliveryStats:
        return self._fanout.stats()


class RedisEventBus:
    """Events shared by every worker through one Redis pub/sub channel (see the module docstring).

    The listener uses its own connection without a read timeout (it waits for messages by design) but with a
    connect timeout, TCP keep-alive and periodic PINGs, and reconnects with exponential back-off when Redis goes
    away; one warning when it loses Redis, one info line when it is back.

    Publishing and ``ping`` go through ``breaker`` (the app's one for Redis; without it, one of its own): while it
    is open they raise :class:`EventBusUnavailableError` at once. The listener keeps its own back-off instead: it
    serves no request, and it must notice a Redis that is back even when nobody publishes.
    """

    def __init__(
        self,
        *,
        redis_url: str,
        channel: str = DEFAULT_CHANNEL,
        socket_timeout: float = 0.5,
        min_backoff: float = 0.05,
        max_backoff: float = 2.0,
        breaker: DependencyBreaker | None = None,
    ) -> None:
        self._breaker = breaker or DependencyBreaker(name="redis")
        self._channel = channel
        self._socket_timeout = socket_timeout
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        # Fail-fast options (impl/platform/redis_client.py): a dead Redis costs a publisher ~0.5 s.
        self._client = redis_client(redis_url, max_connections=50, socket_timeout=socket_timeout)
        self._listener_client = redis_listener(redis_url, socket_timeout=socket_timeout)
        self._fanout = Fanout()
        self._listener: asyncio.Task[None] | None = None
        self._listening = False

    async def publish(self, event: Event) -> None:
        try:
            await self._breaker.call(self._client.publish, self._channel, event.to_json())
        except BreakerOpenError as exc:
            raise self._unavailable() from exc  # no warning per publish: the breaker logged its opening
        except _redis_failures() as exc:
            logger.warning("event publish failed (%s: %s)", type(exc).__name__, exc)
            raise self._unavailable() from exc

    def subscribe(self, *, types: Collection[str] | None = None, queue_size: int = DEFAULT_QUEUE_SIZE) -> Subscription:
        return self._fanout.subscribe(types=types, queue_size=queue_size)

    async def start(self) -> None:
        """Start the listener and wait (briefly) for its first subscription, so events published next arrive.

        Redis being down does not fail start-up: the listener keeps retrying and ``ping`` reports it meanwhile.
        """
        if self._listener is not None:
            return
        first_attempt = asyncio.Event()
        self._listener = asyncio.create_task(self._listen(first_attempt), name="charter-event-listener")
        await first_attempt.wait()

    async def ping(self) -> None:
        try:
            await self._breaker.call(self._client.ping)
        except _redis_failures(BreakerOpenError) as exc:
            raise self._unavailable() from exc
        if not self._listening:
            raise EventBusUnavailableError  # Redis answers; this worker's listener is not subscribed (yet)

    def _unavailable(self) -> EventBusUnavailableError:
        return EventBusUnavailableError(retry_after_seconds=self._breaker.retry_after_seconds)

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        self._fanout.close()
        await self._listener_client.aclose()
        await self._client.aclose()

    def stats(self) -> DeliveryStats:
        return self._fanout.stats()

    async def _listen(self, first_attempt: asyncio.Event) -> None:
        delay = self._min_backoff
        failing = False
        while True:
            pubsub = self._listener_client.pubsub()
            try:
                await self._subscribe(pubsub)
                self._listening = True
                first_attempt.set()
                delay = self._min_backoff
                if failing:
                    logger.info("event listener reconnected to Redis")
                    failing = False
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._receive(message.get("data"))
            except _redis_failures() as exc:
                if not failing:
                    logger.warning("event listener lost Redis (%s: %s); reconnecting", type(exc).__name__, exc)
                    failing = True
            except Exception:
                # A bug must not silence every subscriber of this worker for good: log it, back off, listen again.
                logger.exception("event listener failed; restarting it")
                failing = True
            finally:
                self._listening = False
                with contextlib.suppress(*_redis_failures()):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves it unannotated
            first_attempt.set()
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._max_backoff)

    async def _subscribe(self, pubsub: redis.asyncio.client.PubSub) -> None:
        """Subscribe and wait for Redis to confirm, so nothing published after this returns is missed."""
        async with asyncio.timeout(self._socket_timeout * 4):
            await pubsub.subscribe(self._channel)
            while True:
                message = await pubsub.get_message(timeout=self._socket_timeout)
                if message is not None and message.get("type") == "subscribe":
                    return

    def _receive(self, raw: object) -> None:
        try:
            if not isinstance(raw, bytes | str):
                raise InvalidEventError("not a text message")
            event = Event.from_json(raw)
        except InvalidEventError as exc:
            # Not the payload: whoever wrote it to our channel, it may hold anything.
            logger.warning("skipped a malformed message on the event channel: %s", exc)
            return
        self._fanout.deliver(event)


def create_event_bus(*, redis_url: str | None, breaker: DependencyBreaker | None = None) -> EventBus:
    """The bus the settings ask for: Redis when a URL is given (every worker shares events), else in-process."""
    if redis_url:
        return RedisEventBus(redis_url=redis_url, breaker=breaker)
    return MemoryEventBus()
