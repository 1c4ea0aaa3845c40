"""Accounts as they are now (active, role), for the guard: authorization never trusts a token's role claim.

A token proves who the caller is; what they may do is the account's current state, read on every authenticated
request. Reading the database each time would cost a query per request, so each worker keeps the states it has
read for a short time (``ttl_seconds``, one second by default) and drops one at once when it hears that the
account changed: directly from this worker's writers (``forget``), and from the event bus's ``user.*`` events,
which with Redis come from every worker. The time limit bounds what a lost event can cost (pub/sub is at most
once); a read that an invalidation overtook is not kept, so a stale state is never stored after the change.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from impl.auth.ports import Account
from impl.platform.events import EventBus, Subscription

logger = logging.getLogger("charter.auth")

ACCOUNT_EVENTS = ("user.updated", "user.deleted")
# Enough for every account active on a worker within a TTL; beyond it the oldest entries go first.
MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class AccountState:
    role: str
    active: bool


# The users domain's read of one account (None when there is none).
ReadAccount = Callable[[uuid.UUID], Awaitable[Account | None]]


class AccountStates:
    def __init__(
        self,
        *,
        read: ReadAccount,
        bus: EventBus,
        ttl_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._bus = bus
        self._ttl = ttl_seconds
        self._clock = clock
        self._entries: dict[uuid.UUID, tuple[float, AccountState | None]] = {}
        # Bumped by every invalidation: a read that started before one is answered but not kept.
        self._generation = 0
        self._subscription: Subscription | None = None
        self._listener: asyncio.Task[None] | None = None

    async def current(self, user_id: uuid.UUID) -> AccountState | None:
        """The account's state now (None when it no longer exists); at most ``ttl_seconds`` old."""
        entry = self._entries.get(user_id)
        now = self._clock()
        if entry is not None and entry[0] > now:
            return entry[1]
        generation = self._generation
        account = await self._read(user_id)
        state = AccountState(role=account.role, active=account.active) if account is not None else None
        if generation == self._generation and self._ttl > 0:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.pop(next(iter(self._entries)))
            self._entries[user_id] = (now + self._ttl, state)
        return state

    def forget(self, user_id: uuid.UUID) -> None:
        """The account changed (or may have): its next check reads it again."""
        self._generation += 1
        self._entries.pop(user_id, None)

    async def start(self) -> None:
        """Listen to the bus for changes made by any worker (until ``close``)."""
        if self._listener is not None:
            return
        # Subscribed here, before start returns: no change published after it is missed.
        self._subscription = self._bus.subscribe(types=ACCOUNT_EVENTS)
        self._listener = asyncio.create_task(self._listen(self._subscription), name="charter-account-states")

    async def close(self) -> None:
        if self._subscription is not None:
            self._subscription.close()  # the listener's iteration ends
        if self._listener is not None:
            await self._listener
        self._subscription = self._listener = None
        self._entries.clear()

    async def _listen(self, subscription: Subscription) -> None:
        async for event in subscription:
            self.forget_from(event.as_dict().get("data"))
        # The bus closed (shutdown): nothing kept can be trusted any more.
        self._entries.clear()

    def forget_from(self, data: object) -> None:
        """Drop the account an event's data names (``user`` with an ``id``, or ``user_id``)."""
        if not isinstance(data, dict):
            return
        user = data.get("user")
        raw = user.get("id") if isinstance(user, dict) else data.get("user_id")
        try:
            self.forget(uuid.UUID(str(raw)))
        except ValueError:
            logger.warning("an account event named no valid user id")
