"""The users table."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from impl.platform.db.base import Base, UTCDateTime


class UserRecord(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased, so unique is case-blind
    name: Mapped[str] = mapped_column(String(100), index=True)
    role: Mapped[str] = mapped_column(String(16), index=True)
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Bumped by SQLAlchemy on every change (version_id_col): each UPDATE and DELETE says WHERE version = <read>,
    # so a concurrent change makes it fail (StaleDataError) instead of being silently overwritten. The ETag too.
    version: Mapped[int] = mapped_column(Integer)
    # Argon2id PHC string; None for a user created without a password, who cannot sign in.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True, deferred=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy's declarative hook
    # The activity report's GROUP BY role, active reads only this index (impl/users/activity_report.py).
    __table_args__ = (Index("ix_users_role_active", "role", "active"),)
