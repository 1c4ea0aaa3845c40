"""The declarative base every table derives from; its metadata is what Alembic migrates and checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, Dialect, MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Deterministic constraint names, so migrations can name (and later drop) every constraint on both databases.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC instants on every database: SQLite has no time zones, so it stores naive UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are ambiguous; pass an aware one")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    # Microseconds kept (both databases store them): rows made in the same second still sort in the order made.
    return datetime.now(UTC)


def next_modification(previous: datetime) -> datetime:
    """When a row last changed at ``previous`` changes again: now, but never in ``previous``'s second.

    ``Last-Modified`` is an HTTP-date, whole seconds (RFC 9110 §5.6.7): a change in the same second as the one
    before would keep it, and a client's ``If-Modified-Since`` would get 304 with stale data. So a change moves
    the time to the next second at least (up to a second early, or a little more for a burst of changes).
    """
    floor = previous.replace(microsecond=0) + timedelta(seconds=1)
    return max(utc_now(), floor)
