"""The event bus: typed events fan out to every matching subscriber, in one process or across workers via Redis;
a failing or slow subscriber never affects the others or the publisher; a dead Redis is a 503, then it recovers.

Redis tests use the shared server through ``redis_url``, each on its own channel. "Redis down" is a throw-away
redis-server (tests/throwaway_redis.py) killed and restarted on the same port; the shared one is never touched.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from uuid import uuid4

import pytest
import redis.asyncio

from impl.platform.events import (
    Event,
    EventBus,
    EventBusUnavailableError,
    InvalidEventError,
    MemoryEventBus,
    RedisEventBus,
    Subscription,
    create_event_bus,
)
from impl.platform.problems import ProblemError
from tests.throwaway_redis import ThrowawayRedis, throwaway_redis

pytestmark = pytest.mark.unit

BusFactory = Callable[[], EventBus]
WAIT_SECONDS = 5.0  # an upper bound for "it arrives", never a speed claim


@pytest.fixture(params=["memory", "redis"])
def make_bus(request: pytest.FixtureRequest) -> BusFactory:
    if request.param == "memory":
        return MemoryEventBus
    url: str = request.getfixturevalue("redis_url")
    channel = f"charter:test:events:{uuid4().hex}"
    return lambda: RedisEventBus(redis_url=url, channel=channel)


@asynccontextmanager
async def started(bus: EventBus) -> AsyncIterator[EventBus]:
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()


async def receive(subscription: Subscription, count: int) -> list[Event]:
    async with asyncio.timeout(WAIT_SECONDS):
        return [await anext(subscription) for _ in range(count)]


async def nothing_more(subscription: Subscription) -> None:
    """Nothing else is queued: a marker published last arrives next (the bus delivers in publish order)."""
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.2):
            await anext(subscription)


# --- events -------------------------------------------------------------------------------------------------------


def test_an_event_round_trips_through_json_with_a_generated_id_and_utc_time() -> None:
    event = Event(type="user.created", data={"user_id": "u1", "roles": ("user",)})
    decoded = Event.from_json(event.to_json())
    assert decoded == event
    assert decoded.data == {"user_id": "u1", "roles": ["user"]}  # JSON's view, as Redis would deliver it
    assert len(event.id) == 32
    assert event.occurred_at.endswith("Z")
    assert json.loads(event.to_json()) == {
        "type": "user.created",
        "data": {"user_id": "u1", "roles": ["user"]},
        "id": event.id,
        "occurred_at": event.occurred_at,
    }


def test_event_data_is_a_copy_the_publisher_cannot_change_afterwards() -> None:
    data = {"name": "Ada"}
    event = Event(type="user.updated", data=data)
    data["name"] = "Eve"
    assert event.data["name"] == "Ada"
    with pytest.raises(TypeError):
        event.data["name"] = "Eve"  # type: ignore[index]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"type": "User.Created"},
        {"type": "user"},
        {"type": "user.created\n"},
        {"type": "user.created", "id": "has space"},
        {"type": "user.created", "id": "line\nbreak"},
        {"type": "user.created", "occurred_at": "2025-01-01 00:00:00"},
        {"type": "user.created", "occurred_at": "2025-01-01T00:00:00+02:00"},
        {"type": "user.created", "occurred_at": "2025-13-01T00:00:00Z"},
        {"type": "user.created", "data": {"when": object()}},
        {"type": "user.created", "data": {"x": float("nan")}},
        {"type": "user.created", "data": ["not", "an", "object"]},
    ],
)
def test_an_invalid_event_is_refused_with_a_value_error(kwargs: dict[str, object]) -> None:
    with pytest.raises(InvalidEventError) as raised:
        Event(**kwargs)  # type: ignore[arg-type]
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe",
        b"not json",
        b"[1, 2]",
        b'{"type": "user.created"}',
        b'{"type": "user.created", "data": {}, "id": "a", "occurred_at": "2025-01-01T00:00:00Z", "extra": 1}',
        b'{"type": 1, "data": {}, "id": "a", "occurred_at": "2025-01-01T00:00:00Z"}',
        b'{"type": "user.created", "data": [], "id": "a", "occurred_at": "2025-01-01T00:00:00Z"}',
        b"[" * 100_000,
    ],
)
def test_decoding_garbage_raises_invalid_event_error(raw: bytes) -> None:
    with pytest.raises(InvalidEventError):
        Event.from_json(raw)


# --- subscriptions, either backend ---------------------------------------------------------------------------------


def test_every_subscriber_gets_every_event_in_order(make_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with started(make_bus()) as bus, bus.subscribe() as first, bus.subscribe() as second:
            events = [Event(type="user.created", data={"n": n}) for n in range(3)]
            for event in events:
                await bus.publish(event)
            assert await receive(first, 3) == events
            assert await receive(second, 3) == events

    asyncio.run(scenario())


def test_subscribers_get_only_the_types_and_prefixes_they_asked_for(make_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with (
            started(make_bus()) as bus,
            bus.subscribe(types=["user.*"]) as users,
            bus.subscribe(types={"chat.message", "file.uploaded"}) as exact,
        ):
            for type_ in ("user.created", "chat.message", "userx.created", "user.deleted", "file.uploaded"):
                await bus.publish(Event(type=type_))
            await bus.publish(last := Event(type="chat.message", data={"last": True}))
            assert [e.type for e in await receive(users, 2)] == ["user.created", "user.deleted"]
            assert [e.type for e in await receive(exact, 2)] == ["chat.message", "file.uploaded"]
            assert await receive(exact, 1) == [last]
            await nothing_more(users)
            await nothing_more(exact)

    asyncio.run(scenario())


@pytest.mark.parametrize("types", [[], ["User.*"], ["user.*.x"], ["*"], ["user"], "user.created"])
def test_a_malformed_subscription_filter_is_refused(types: list[str] | str) -> None:
    with pytest.raises((ValueError, TypeError)):
        MemoryEventBus().subscribe(types=types)


def test_a_failing_handler_is_logged_and_neither_the_others_nor_its_next_events_suffer(
    make_bus: BusFactory, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> tuple[list[Event], list[Event]]:
        failed: list[Event] = []
        handled: list[Event] = []
        all_seen = asyncio.Event()

        async def broken(event: Event) -> None:
            failed.append(event)
            if len(failed) == len(handled) == 3:
                all_seen.set()
            raise RuntimeError("handler bug")

        async def working(event: Event) -> None:
            handled.append(event)
            if len(failed) == len(handled) == 3:
                all_seen.set()

        bus = make_bus()
        await bus.start()
        runners = [
            asyncio.create_task(bus.subscribe().run(broken)),
            asyncio.create_task(bus.subscribe().run(working)),
        ]
        for n in range(3):
            await bus.publish(Event(type="chat.message", data={"n": n}))  # the publisher never sees the error
        async with asyncio.timeout(WAIT_SECONDS):
            await all_seen.wait()
        await bus.close()  # ends both runners
        async with asyncio.timeout(WAIT_SECONDS):
            await asyncio.gather(*runners)
        return failed, handled

    with caplog.at_level(logging.ERROR, logger="charter.events"):
        failed, handled = asyncio.run(scenario())
    assert [e.data["n"] for e in handled] == [0, 1, 2]
    assert [e.data["n"] for e in failed] == [0, 1, 2]
    assert sum("handler" in r.getMessage() and r.exc_info is not None for r in caplog.records) == 3


def test_a_slow_subscriber_never_blocks_the_publisher_and_its_drops_are_counted(make_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with started(make_bus()) as bus, bus.subscribe(queue_size=2) as slow, bus.subscribe() as fast:
            received: list[Event] = []

            async def read_fast() -> None:
                async for event in fast:
                    received.append(event)
                    if len(received) == 100:
                        return

            reader = asyncio.create_task(read_fast())
            published = [Event(type="chat.message", data={"n": n}) for n in range(100)]
            async with asyncio.timeout(WAIT_SECONDS):  # `slow` never reads: publishing must not wait for it
                for event in published:
                    await bus.publish(event)
                await reader
            assert received == published
            assert fast.dropped == 0
            assert slow.dropped == 98
            # Drop-oldest: what the slow reader finds is the newest.
            assert await receive(slow, 2) == published[-2:]

    asyncio.run(scenario())


def test_closing_a_subscription_ends_its_iteration_and_stops_delivery(make_bus: BusFactory) -> None:
    async def scenario() -> None:
        async with started(make_bus()) as bus:
            subscription = bus.subscribe()
            waiter = asyncio.create_task(anext(subscription, None))
            await asyncio.sleep(0)
            subscription.close()
            async with asyncio.timeout(WAIT_SECONDS):
                assert await waiter is None
            await bus.publish(Event(type="user.created"))
            assert [event async for event in subscription] == []
            assert subscription.closed

    asyncio.run(scenario())


def test_create_event_bus_picks_redis_only_when_a_url_is_given() -> None:
    assert isinstance(create_event_bus(redis_url=None), MemoryEventBus)
    assert isinstance(create_event_bus(redis_url=""), MemoryEventBus)
    redis_bus = create_event_bus(redis_url="redis://127.0.0.1:1/0")
    assert isinstance(redis_bus, RedisEventBus)
    asyncio.run(redis_bus.close())


# --- Redis: several workers ----------------------------------------------------------------------------------------


def test_an_event_published_by_one_worker_reaches_every_worker_exactly_once(redis_url: str) -> None:
    channel = f"charter:test:events:{uuid4().hex}"

    async def scenario() -> None:
        async with (
            started(RedisEventBus(redis_url=redis_url, channel=channel)) as worker_a,
            started(RedisEventBus(redis_url=redis_url, channel=channel)) as worker_b,
            worker_a.subscribe() as on_a,
            worker_b.subscribe() as on_b,
        ):
            event = Event(type="user.created", data={"user_id": "u1"})
            await worker_a.publish(event)
            await worker_a.publish(marker := Event(type="user.deleted"))
            assert await receive(on_a, 2) == [event, marker]  # its own subscriber: once, not also directly
            assert await receive(on_b, 2) == [event, marker]
            await nothing_more(on_a)
            await nothing_more(on_b)

    asyncio.run(scenario())


def test_garbage_on_the_channel_is_logged_and_skipped(redis_url: str, caplog: pytest.LogCaptureFixture) -> None:
    channel = f"charter:test:events:{uuid4().hex}"

    async def scenario() -> None:
        raw = redis.asyncio.Redis.from_url(redis_url)
        try:
            async with started(RedisEventBus(redis_url=redis_url, channel=channel)) as bus, bus.subscribe() as events:
                for garbage in (b"not json", b"\xff", b'{"type": "user.created"}', b"{}"):
                    await raw.publish(channel, garbage)
                await bus.publish(good := Event(type="user.created"))
                assert await receive(events, 1) == [good]
        finally:
            await raw.aclose()

    with caplog.at_level(logging.WARNING, logger="charter.events"):
        asyncio.run(scenario())
    assert sum("malformed message" in r.getMessage() for r in caplog.records) == 4


# --- Redis: down, then back ----------------------------------------------------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[ThrowawayRedis]:
    with throwaway_redis() as server:
        yield server


def test_redis_killed_publish_is_a_503_then_the_listener_recovers_on_its_own(
    private_redis: ThrowawayRedis, caplog: pytest.LogCaptureFixture
) -> None:
    server = private_redis

    async def scenario() -> None:
        bus = RedisEventBus(redis_url=server.url, channel="charter:events")
        async with started(bus), bus.subscribe() as events:
            await bus.ping()
            await bus.publish(before := Event(type="user.created"))
            assert await receive(events, 1) == [before]

            await asyncio.to_thread(server.kill)
            with pytest.raises(EventBusUnavailableError) as raised:
                await bus.publish(Event(type="user.updated"))
            assert isinstance(raised.value, ProblemError)
            assert raised.value.status == 503
            assert raised.value.headers == {"Retry-After": "1"}
            with pytest.raises(EventBusUnavailableError):
                await bus.ping()

            await asyncio.to_thread(server.restart)
            async with asyncio.timeout(WAIT_SECONDS * 2):  # the listener's back-off is capped at 2 s
                while True:
                    try:
                        await bus.ping()  # publishes again AND the listener is subscribed again
                        break
                    except EventBusUnavailableError:
                        await asyncio.sleep(0.05)
            await bus.publish(after := Event(type="user.deleted"))
            assert await receive(events, 1) == [after]
            await nothing_more(events)

    with caplog.at_level(logging.INFO, logger="charter.events"):
        asyncio.run(scenario())
    messages = [r.getMessage() for r in caplog.records]
    assert sum("listener lost Redis" in m for m in messages) == 1  # one warning per outage, not one per retry
    assert any("reconnected" in m for m in messages)
