"""The replay buffer and a stream's start: what is replayed after a Last-Event-ID, and when it is unknown."""

from __future__ import annotations

import asyncio

import pytest

from impl.platform.events import Event, MemoryEventBus
from impl.streams.replay import ReplayBuffer, events_after

pytestmark = pytest.mark.unit


def event(n: int) -> Event:
    return Event(type="user.deleted", data={"user_id": f"00000000-0000-0000-0000-{n:012d}"}, id=f"e{n}")


def test_events_after_an_id_are_the_later_ones_and_an_unknown_id_is_none() -> None:
    snapshot = [event(1), event(2), event(3)]
    assert events_after(snapshot, "e1") == snapshot[1:]
    assert events_after(snapshot, "e3") == []
    assert events_after(snapshot, "e9") is None
    assert events_after([], "e1") is None


def test_the_buffer_keeps_the_latest_events_only_and_includes_what_was_just_published() -> None:
    async def scenario() -> list[str]:
        bus = MemoryEventBus()
        buffer = ReplayBuffer(bus=bus, size=3)
        await buffer.start()
        try:
            for n in range(5):
                await bus.publish(event(n))
            # No wait in between: the snapshot must already hold the events published just now.
            return [e.id for e in await buffer.snapshot()]
        finally:
            await buffer.close()
            await bus.close()

    assert asyncio.run(scenario()) == ["e2", "e3", "e4"]


def test_the_buffer_ignores_types_the_stream_never_carries() -> None:
    async def scenario() -> list[str]:
        bus = MemoryEventBus()
        buffer = ReplayBuffer(bus=bus, size=10)
        await buffer.start()
        try:
            await bus.publish(Event(type="chat.message", data={"text": "hi"}, id="chat"))
            await bus.publish(event(1))
            return [e.id for e in await buffer.snapshot()]
        finally:
            await buffer.close()
            await bus.close()

    assert asyncio.run(scenario()) == ["e1"]


def test_closing_the_buffer_releases_its_subscription() -> None:
    async def scenario() -> bool:
        bus = MemoryEventBus()
        buffer = ReplayBuffer(bus=bus, size=10)
        await buffer.start()
        await buffer.close()
        await bus.publish(event(1))
        closed = await buffer.snapshot() == []
        await bus.close()
        return closed

    assert asyncio.run(scenario())
