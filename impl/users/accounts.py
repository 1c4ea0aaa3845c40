"""The users package's side of sign-in: accounts looked up by email, registered, given passwords and promoted.

The auth package declares what it needs as a Protocol (``impl.auth.ports.UserAccounts``) and the app factory
hands it this class, so neither domain imports the other's internals.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import exists, select

from generated import models
from impl.platform.db.base import next_modification, utc_now
from impl.platform.db.engine import Sessions
from impl.platform.events import EventBus
from impl.users.errors import EmailTakenError
from impl.users.models import UserRecord
from impl.users.publishing import UserEvents
from impl.users.repository import UserRepository
from impl.users.representation import view


@dataclass(frozen=True, slots=True)
class Account:
    id: uuid.UUID
    email: str
    name: str
    role: str
    active: bool
    password_hash: str | None

    @classmethod
    def of(cls, record: UserRecord) -> Account:
        return cls(record.id, record.email, record.name, record.role, record.active, record.password_hash)


class UserAccounts:
    def __init__(
        self, *, sessions: Sessions, invalidate: Callable[[uuid.UUID], Awaitable[None]], events: EventBus
    ) -> None:
        self._sessions = sessions
        # Every committed change drops the user's cached read and is published, as UsersService's own writes are:
        # a registration is a user.created, a profile change a user.updated (a password is not part of the resource).
        self._invalidate = invalidate
        self._events = UserEvents(bus=events)

    async def find_by_email(self, email: str) -> Account | None:
        async with self._sessions.read() as session:
            record = await session.scalar(select(UserRecord).where(UserRecord.email == email.lower()))
        return Account.of(record) if record is not None else None

    async def find(self, user_id: uuid.UUID) -> Account | None:
        async with self._sessions.read() as session:
            record = await UserRepository(session).get(user_id)
        return Account.of(record) if record is not None else None

    async def view(self, user_id: uuid.UUID) -> models.User | None:
        async with self._sessions.read() as session:
            record = await UserRepository(session).get(user_id)
        return view(record) if record is not None else None

    async def register(self, *, email: str, name: str, password_hash: str, role: str = "user") -> bool:
        """Create an account; False (and nothing written) when the email is taken."""
        now = utc_now()
        record = UserRecord(
            id=uuid.uuid4(),
            email=email.lower(),
            name=name,
            role=role,
            active=True,
            created_at=now,
            updated_at=now,
            password_hash=password_hash,
        )
        try:
            async with self._sessions.write.begin() as session:
                await UserRepository(session).insert(record)
        except EmailTakenError:
            return False
        await self._events.created(view(record))
        return True

    async def set_password_hash(self, *, user_id: uuid.UUID, password_hash: str) -> None:
        async with self._sessions.write.begin() as session:
            record = await UserRepository(session).get(user_id)
            if record is None:
                return
            record.password_hash = password_hash
            record.updated_at = next_modification(record.updated_at)
        await self._invalidate(user_id)

    async def update_profile(self, *, user_id: uuid.UUID, email: str | None, name: str | None) -> models.User | None:
        """Change the email and/or name; a taken email raises EmailTakenError (409). None if the user is gone."""
        async with self._sessions.write.begin() as session:
            repository = UserRepository(session)
            record = await repository.get(user_id)
            if record is None:
                return None
            changed = False
            if email is not None and email.lower() != record.email:
                record.email, changed = email.lower(), True
            if name is not None and name != record.name:
                record.name, changed = name, True
            if changed:
                record.updated_at = next_modification(record.updated_at)
                await repository.flush()
            user = view(record)
        await self._invalidate(user_id)
        if changed:
            await self._events.updated(user)
        return user

    async def ensure_admin(self, *, email: str, password_hash: str) -> bool:
        """Make ``email`` an active admin with this password when no admin exists; False if one already does."""
        async with self._sessions.write.begin() as session:
            if await session.scalar(select(exists().where(UserRecord.role == models.Role.admin.value))):
                return False
            record = await session.scalar(select(UserRecord).where(UserRecord.email == email.lower()))
            created = record is None
            if record is None:
                now = utc_now()
                record = UserRecord(
                    id=uuid.uuid4(),
                    email=email.lower(),
                    name="Administrator",
                    role=models.Role.admin.value,
                    active=True,
                    created_at=now,
                    updated_at=now,
                    password_hash=password_hash,
                )
                await UserRepository(session).insert(record)
            else:
                record.role, record.active, record.password_hash = models.Role.admin.value, True, password_hash
                record.updated_at = next_modification(record.updated_at)
            user_id, user = record.id, view(record)
        await self._invalidate(user_id)
        await (self._events.created(user) if created else self._events.updated(user))
        return True
