"""Login sessions (refresh-token families): created at sign-in, rotated at refresh, revoked at logout or reuse."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, select, update

from impl.auth.models import AuthSessionRecord
from impl.platform.db.base import utc_now
from impl.platform.db.engine import Sessions


def session_key(session_id: str) -> str:
    """A whole session's entry on the token blacklist, beside single tokens' ``jti``s (which never contain ':')."""
    return f"session:{session_id}"


class AuthSessions:
    def __init__(self, *, sessions: Sessions, ttl_seconds: int) -> None:
        self._sessions = sessions
        self._ttl = timedelta(seconds=ttl_seconds)

    async def start(self, *, session_id: str, user_id: uuid.UUID, token_id: str) -> None:
        now = utc_now()
        async with self._sessions.write.begin() as session:
            session.add(
                AuthSessionRecord(
                    id=session_id,
                    user_id=user_id,
                    current_token_id=token_id,
                    created_at=now,
                    expires_at=now + self._ttl,
                )
            )

    async def rotate(self, *, session_id: str, presented_token_id: str, next_token_id: str) -> bool:
        """Swap the session's one valid refresh token for the next; False when the presented one was not it.

        One conditional UPDATE: the database serialises concurrent rotations of one row, so exactly one of two
        parallel refreshes with the same token matches (the other sees the new id and counts as a reuse).
        """
        now = utc_now()
        statement = (
            update(AuthSessionRecord)
            .where(
                AuthSessionRecord.id == session_id,
                AuthSessionRecord.current_token_id == presented_token_id,
                AuthSessionRecord.revoked_at.is_(None),
                AuthSessionRecord.expires_at > now,
            )
            .values(current_token_id=next_token_id, expires_at=now + self._ttl)
        )
        async with self._sessions.write.begin() as session:
            result = await session.execute(statement)
        return _rowcount(result) == 1

    async def revoke(self, *, session_id: str) -> None:
        await self._revoke_where(AuthSessionRecord.id == session_id)

    async def revoke_all(self, *, user_id: uuid.UUID, except_session_id: str | None = None) -> list[str]:
        """Revoke the user's sessions (but one); the ids revoked, so their access tokens can be refused too."""
        conditions = [AuthSessionRecord.user_id == user_id, AuthSessionRecord.revoked_at.is_(None)]
        if except_session_id is not None:
            conditions.append(AuthSessionRecord.id != except_session_id)
        async with self._sessions.write.begin() as session:
            ids = list(await session.scalars(select(AuthSessionRecord.id).where(*conditions)))
            if ids:
                await session.execute(
                    update(AuthSessionRecord).where(AuthSessionRecord.id.in_(ids)).values(revoked_at=utc_now())
                )
        return ids

    async def _revoke_where(self, *conditions: object) -> None:
        now: datetime = utc_now()
        statement = (
            update(AuthSessionRecord)
            .where(*conditions, AuthSessionRecord.revoked_at.is_(None))  # type: ignore[arg-type]
            .values(revoked_at=now)
        )
        async with self._sessions.write.begin() as session:
            await session.execute(statement)


def _rowcount(result: object) -> int:
    return result.rowcount if isinstance(result, CursorResult) else 0
