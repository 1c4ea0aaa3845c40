"""The database pool's connections by state, read at scrape time for ``charter_db_pool_connections``."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import QueuePool


def pool_connections(engine: AsyncEngine) -> dict[str, float]:
    """``checked_out`` (in use by a request) and ``idle`` (pooled, ready); empty for a pool that keeps none.

    PostgreSQL and a SQLite file use a queue pool (SQLAlchemy's async adaptation); an in-memory SQLite database
    shares one connection (StaticPool) and a NullPool opens one per use: neither has states to report.
    """
    pool = engine.pool
    if not isinstance(pool, QueuePool):
        return {}
    return {"checked_out": float(pool.checkedout()), "idle": float(pool.checkedin())}
