"""An event bus: publish/subscribe with typed events; in-process by default, Redis pub/sub when ``REDIS_URL`` is set.

Publishers never wait for subscribers. Every subscription owns a bounded queue that the bus fills with
``put_nowait``; when it is full the **oldest** queued event is dropped to make room and the subscription's
``dropped`` counter goes up (a metric later). Oldest, not newest: a subscriber that fell behind (an SSE client on a
slow link) is better served by what happens now than by a backlog; a lagging reader loses old events, never new ones.

Handler errors are isolated by construction: the bus runs no subscriber code, it only fills queues. Each consumer
reads its own subscription (``async for`` or :meth:`Subscription.run`, which logs a failing handler and carries on).

With Redis, ``publish`` is a ``PUBLISH`` of the event's JSON on one channel and each process runs a single listener
task that fans what it receives out to its local subscriptions, so an event reaches every worker's subscribers --
including the publisher's own, exactly once (through Redis, never also directly). Redis pub/sub is at most once:
events published while a listener is reconnecting are not replayed (a replay buffer belongs to its consumer, e.g.
SSE). A publish that cannot reach Redis raises :class:`EventBusUnavailableError` (503), so a caller never believes
an event went out when it did not.
"""

from impl.platform.events.bus import (
    DEFAULT_CHANNEL,
    EventBus,
    EventBusUnavailableError,
    MemoryEventBus,
    RedisEventBus,
    create_event_bus,
)
from impl.platform.events.event import Event, InvalidEventError
from impl.platform.events.subscription import DEFAULT_QUEUE_SIZE, DeliveryStats, Subscription

__all__ = [
    "DEFAULT_CHANNEL",
    "DEFAULT_QUEUE_SIZE",
    "DeliveryStats",
    "Event",
    "EventBus",
    "EventBusUnavailableError",
    "InvalidEventError",
    "MemoryEventBus",
    "RedisEventBus",
    "Subscription",
    "create_event_bus",
]
