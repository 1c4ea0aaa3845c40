"""The auth_sessions table: one row per login session (refresh-token family)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from impl.platform.db.base import Base, UTCDateTime


class AuthSessionRecord(Base):
    """A login session. Only ``current_token_id`` may be exchanged: rotation is one conditional UPDATE from the
    presented token's id to the new one, so of two concurrent refreshes with one token exactly one matches; a
    token that no longer matches was already used, and presenting it revokes the session (RFC 9700 §4.14)."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    # No foreign key: a deleted user's sessions are refused at refresh (the user must still exist and be active).
    user_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    current_token_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
