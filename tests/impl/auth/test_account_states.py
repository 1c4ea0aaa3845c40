"""A worker's view of accounts' current state: kept briefly, dropped at once when anyone says the account changed."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, replace

from impl.auth.account_states import AccountState, AccountStates
from impl.platform.events import Event, MemoryEventBus


@dataclass(frozen=True)
class Row:
    id: uuid.UUID
    role: str = "admin"
    active: bool = True
    email: str = "row@example.com"
    name: str = "Row"
    password_hash: str | None = None


class Table:
    """The database as far as these tests care: one row per account, and a count of reads."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, Row] = {}
        self.reads = 0
        self.pause: asyncio.Event | None = None

    async def read(self, user_id: uuid.UUID) -> Row | None:
        self.reads += 1
        row = self.rows.get(user_id)
        if self.pause is not None:
            await self.pause.wait()
        return row


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_state_is_read_once_per_ttl_then_again() -> None:
    table, clock, user = Table(), Clock(), uuid.uuid4()
    table.rows[user] = Row(user)
    states = AccountStates(read=table.read, bus=MemoryEventBus(), ttl_seconds=1.0, clock=clock)

    async def scenario() -> None:
        assert await states.current(user) == AccountState(role="admin", active=True)
        table.rows[user] = replace(table.rows[user], role="user")
        assert (await states.current(user)).role == "admin"  # type: ignore[union-attr]  # within the TTL
        clock.now += 1.01
        assert (await states.current(user)).role == "user"  # type: ignore[union-attr]
        assert table.reads == 2

    asyncio.run(scenario())


def test_a_change_event_from_any_worker_drops_the_state_at_once() -> None:
    table, user = Table(), uuid.uuid4()
    table.rows[user] = Row(user)
    bus = MemoryEventBus()
    states = AccountStates(read=table.read, bus=bus, ttl_seconds=60.0)

    async def scenario() -> None:
        await states.start()
        assert await states.current(user) == AccountState(role="admin", active=True)
        table.rows[user] = replace(table.rows[user], active=False)
        await bus.publish(Event(type="user.updated", data={"user": {"id": str(user)}}))
        await asyncio.sleep(0)  # the listener's turn
        await asyncio.sleep(0)
        assert await states.current(user) == AccountState(role="admin", active=False)
        del table.rows[user]
        await bus.publish(Event(type="user.deleted", data={"user_id": str(user)}))
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert await states.current(user) is None
        await states.close()

    asyncio.run(scenario())


def test_a_read_overtaken_by_a_change_is_answered_but_not_kept() -> None:
    table, user = Table(), uuid.uuid4()
    table.rows[user] = Row(user)
    states = AccountStates(read=table.read, bus=MemoryEventBus(), ttl_seconds=60.0)

    async def scenario() -> None:
        table.pause = asyncio.Event()
        slow = asyncio.create_task(states.current(user))  # reads the admin row, then waits
        await asyncio.sleep(0)
        table.rows[user] = replace(table.rows[user], role="user")
        states.forget(user)  # the change commits while the read is in flight
        table.pause.set()
        assert (await slow).role == "admin"  # type: ignore[union-attr]
        table.pause = None
        assert (await states.current(user)).role == "user"  # type: ignore[union-attr]  # not the stale one

    asyncio.run(scenario())
