"""Queries on the files table. The service owns transactions; the repository runs statements in a session."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from impl.files.models import FileRecord


class FileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def owned(self, file_id: uuid.UUID, owner_id: uuid.UUID) -> FileRecord | None:
        """The file if ``owner_id`` owns it; None for a missing file and for anyone else's alike."""
        record = await self.session.get(FileRecord, file_id)
        return record if record is not None and record.owner_id == owner_id else None

    async def insert(self, record: FileRecord) -> None:
        self.session.add(record)
        await self.session.flush()

    async def delete_owned(self, file_id: uuid.UUID, owner_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(FileRecord).where(FileRecord.id == file_id, FileRecord.owner_id == owner_id)
        )
        return bool(getattr(result, "rowcount", 0))

    async def delete_all_owned(self, owner_id: uuid.UUID) -> list[uuid.UUID]:
        """Delete every file row of ``owner_id``; the ids deleted (their bytes are the caller's to remove)."""
        ids = list(await self.session.scalars(select(FileRecord.id).where(FileRecord.owner_id == owner_id)))
        if ids:
            await self.session.execute(delete(FileRecord).where(FileRecord.id.in_(ids)))
        return ids

    async def page(
        self, *, owner_id: uuid.UUID, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[FileRecord]:
        """Up to ``limit`` of the owner's files, newest first, after the keyset position (created_at, id)."""
        statement = select(FileRecord).where(FileRecord.owner_id == owner_id)
        if after is not None:
            created_at, last_id = after
            statement = statement.where(
                or_(
                    FileRecord.created_at < created_at,
                    and_(FileRecord.created_at == created_at, FileRecord.id < last_id),
                )
            )
        ordered = statement.order_by(FileRecord.created_at.desc(), FileRecord.id.desc()).limit(limit)
        return list(await self.session.scalars(ordered))
