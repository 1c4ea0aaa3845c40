"""Idempotency keys (IETF httpapi Idempotency-Key draft; Stripe's semantics), stored in the database.

A request with a key first *claims* it (its own committed transaction, so concurrent duplicates see the claim),
does its work, and *completes* the key in the same transaction as that work, storing the response. Then:
same key + same body → the stored response is replayed; same key + another body → 422; the first request still
running → 409. A claim whose request died is taken over after ``STALE_CLAIM``; keys are kept for ``RETENTION``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Integer, LargeBinary, String, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import JSON

from impl.platform.db.base import Base, UTCDateTime, utc_now
from impl.platform.db.engine import Sessions
from impl.platform.problems import ProblemError

RETENTION = timedelta(hours=24)
STALE_CLAIM = timedelta(seconds=60)


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(200), primary_key=True)  # e.g. "POST /api/v1/users"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while the first request runs
    headers: Mapped[dict[str, str] | None] = mapped_column(JSON)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    claimed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class IdempotencyKeyReusedError(ProblemError):
    status = 422

    def __init__(self) -> None:
        super().__init__("This Idempotency-Key was used with a different request body; use a new key.")


class IdempotencyKeyInFlightError(ProblemError):
    status = 409

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; retry later.",
            headers={"Retry-After": "1"},
        )


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    headers: dict[str, str]
    body: bytes


def fingerprint(payload: Any) -> str:
    """A stable hash of a JSON-able request payload (key order does not matter)."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class IdempotencyStore:
    def __init__(self, *, sessions: Sessions) -> None:
        self._sessions = sessions

    async def claim(self, *, scope: str, key: str, request_fingerprint: str) -> StoredResponse | None:
        """Claim the key for this request: ``None`` means go ahead; a StoredResponse means replay it."""
        now = utc_now()
        async with self._sessions.write.begin() as session:
            await session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at < now))
            values = {
                "scope": scope,
                "key": key,
                "fingerprint": request_fingerprint,
                "claimed_at": now,
                "expires_at": now + RETENTION,
            }
            dialect = session.bind.dialect.name if session.bind is not None else ""
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            inserted = await session.execute(
                insert(IdempotencyRecord).values(**values).on_conflict_do_nothing().returning(IdempotencyRecord.key)
            )
            if inserted.first() is not None:
                return None
            record = await session.scalar(
                select(IdempotencyRecord)
                .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
                .with_for_update()
            )
            if record is None:  # deleted between our insert and select: let the client retry
                raise IdempotencyKeyInFlightError
            if record.fingerprint != request_fingerprint:
                raise IdempotencyKeyReusedError
            if record.status_code is not None:
                return StoredResponse(record.status_code, dict(record.headers or {}), record.body or b"")
            if now - record.claimed_at < STALE_CLAIM:
                raise IdempotencyKeyInFlightError
            # The first request died without completing or releasing: take its claim over.
            record.claimed_at = now
            return None

    async def complete(
        self, session: AsyncSession, *, scope: str, key: str, status_code: int, headers: dict[str, str], body: bytes
    ) -> None:
        """Store the response, inside the transaction that did the work, so both commit or neither does."""
        await session.execute(
            update(IdempotencyRecord)
            .where(IdempotencyRecord.scope == scope, IdempotencyRecord.key == key)
            .values(status_code=status_code, headers=headers, body=body)
        )

    async def release(self, *, scope: str, key: str) -> None:
        """Give the key back after a failure, so a retry with it runs again instead of waiting for the claim."""
        async with self._sessions.write.begin() as session:
            await session.execute(
                delete(IdempotencyRecord).where(
                    IdempotencyRecord.scope == scope,
                    IdempotencyRecord.key == key,
                    IdempotencyRecord.status_code.is_(None),
                )
            )
