"""The bus's delivery stats (for metrics): open subscriptions, queued events, and a dropped count that never shrinks."""

from __future__ import annotations

import asyncio

import pytest

from impl.platform.events import DeliveryStats, Event, MemoryEventBus

pytestmark = pytest.mark.unit


def test_stats_count_open_subscriptions_and_their_queued_events() -> None:
    async def scenario() -> None:
        bus = MemoryEventBus()
        assert bus.stats() == DeliveryStats(subscriptions=0, queued=0, dropped=0)
        users = bus.subscribe(types=["user.*"])
        everything = bus.subscribe()
        await bus.publish(Event(type="user.created", data={}))
        await bus.publish(Event(type="file.uploaded", data={}))

        assert bus.stats() == DeliveryStats(subscriptions=2, queued=3, dropped=0)
        users.close()
        assert bus.stats() == DeliveryStats(subscriptions=1, queued=2, dropped=0)
        everything.close()
        await bus.close()

    asyncio.run(scenario())


def test_dropped_events_stay_counted_after_their_subscription_ends() -> None:
    async def scenario() -> None:
        bus = MemoryEventBus()
        slow = bus.subscribe(queue_size=2)
        for _ in range(5):
            await bus.publish(Event(type="user.created", data={}))
        assert bus.stats().dropped == 3

        slow.close()
        slow.close()  # idempotent: counted once
        assert bus.stats() == DeliveryStats(subscriptions=0, queued=0, dropped=3)
        await bus.close()

    asyncio.run(scenario())
