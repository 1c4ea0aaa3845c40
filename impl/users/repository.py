"""Queries on the users table. The service owns transactions; the repository runs statements in a session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from impl.users.errors import EmailTakenError
from impl.users.models import UserRecord

SORT_COLUMNS = {"created_at": UserRecord.created_at, "email": UserRecord.email, "name": UserRecord.name}


@dataclass(frozen=True, slots=True)
class UserFilters:
    role: str | None = None
    active: bool | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    q: str | None = None

    def clauses(self) -> list[ColumnElement[bool]]:
        clauses: list[ColumnElement[bool]] = []
        if self.role is not None:
            clauses.append(UserRecord.role == self.role)
        if self.active is not None:
            clauses.append(UserRecord.active == self.active)
        if self.created_after is not None:
            clauses.append(UserRecord.created_at >= self.created_after)
        if self.created_before is not None:
            clauses.append(UserRecord.created_at < self.created_before)
        if self.q is not None:
            # autoescape: a '%' or '_' in the search text is literal, not a wildcard.
            needle = self.q.lower()
            name = func.lower(UserRecord.name)
            clauses.append(
                or_(UserRecord.email.contains(needle, autoescape=True), name.contains(needle, autoescape=True))
            )
        return clauses


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> UserRecord | None:
        return await self.session.get(UserRecord, user_id)

    async def insert(self, record: UserRecord) -> None:
        self.session.add(record)
        await self._flush_unique()

    async def flush(self) -> None:
        """Write pending changes now; a taken email surfaces here as EmailTakenError."""
        await self._flush_unique()

    async def page(
        self,
        *,
        filters: UserFilters,
        sort: str,
        descending: bool,
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> list[UserRecord]:
        """Up to ``limit`` users after the keyset position ``after`` (sort value, id); ties broken by id."""
        column = SORT_COLUMNS[sort]
        statement = select(UserRecord).where(*filters.clauses())
        if after is not None:
            value, last_id = after
            if descending:
                statement = statement.where(or_(column < value, and_(column == value, UserRecord.id < last_id)))
            else:
                statement = statement.where(or_(column > value, and_(column == value, UserRecord.id > last_id)))
        order = (column.desc(), UserRecord.id.desc()) if descending else (column.asc(), UserRecord.id.asc())
        result = await self.session.scalars(statement.order_by(*order).limit(limit))
        return list(result)

    async def export_chunk(self, *, after: uuid.UUID | None, limit: int) -> list[UserRecord]:
        """Up to ``limit`` users with an id greater than ``after``, by id: one keyset step of an export."""
        statement = select(UserRecord).order_by(UserRecord.id.asc()).limit(limit)
        if after is not None:
            statement = statement.where(UserRecord.id > after)
        return list(await self.session.scalars(statement))

    async def _flush_unique(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as error:
            raise EmailTakenError from error
