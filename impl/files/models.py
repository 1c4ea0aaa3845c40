"""The files table: one row per stored file; the bytes live on disk under the row's id."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Index, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from impl.platform.db.base import Base, UTCDateTime


class FileRecord(Base):
    __tablename__ = "files"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    # No foreign key to users: domains stay independent, and a file outliving its owner is still only theirs.
    owner_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # "My files, newest first" is the one listing: served from this index, keyset-paginated on (created_at, id).
    __table_args__ = (Index("ix_files_owner_id_created_at_id", "owner_id", "created_at", "id"),)
