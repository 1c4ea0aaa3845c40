"""The async engine: a WAL-mode SQLite file by default, PostgreSQL (asyncpg) with a sized pool in production, whose
connections open through a circuit breaker with a connect timeout and a statement timeout (see connect.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry

from impl.platform.circuit_breaker import DependencyBreaker
from impl.platform.db.connect import connect_arguments, guarded_creator, is_database_outage
from impl.platform.settings import Settings

WRITE_OPTION = "charter_write"


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    # Take transaction control from the driver, so that _sqlite_begin decides how each transaction starts.
    dbapi_connection.isolation_level = None
    _sqlite_pragmas(dbapi_connection)


def _sqlite_begin(connection: Connection) -> None:
    # A write transaction takes SQLite's write lock up front (BEGIN IMMEDIATE): otherwise a transaction that read
    # first fails at its first write whenever another one committed meanwhile (SQLITE_BUSY_SNAPSHOT), which
    # busy_timeout cannot wait out. Read transactions stay deferred, so readers never queue behind writers.
    immediate = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _sqlite_pragmas(dbapi_connection: Any) -> None:
    # WAL lets readers run beside the writer; synchronous=FULL makes every acknowledged commit survive a crash
    # of the process *and* of the machine; busy_timeout makes writers queue instead of failing at once.
    cursor = dbapi_connection.cursor()
    for pragma in (
        "PRAGMA journal_mode=WAL",
        "PRAGMA synchronous=FULL",
        "PRAGMA foreign_keys=ON",
        "PRAGMA busy_timeout=5000",
    ):
        cursor.execute(pragma)
    cursor.close()


def database_breaker(settings: Settings) -> DependencyBreaker | None:
    """The database's circuit breaker (PostgreSQL only: a SQLite file is no remote dependency), for the engine and
    the state metric."""
    if make_url(settings.effective_database_url()).get_backend_name() == "sqlite":
        return None
    return _breaker(settings)


def _breaker(settings: Settings) -> DependencyBreaker:
    return DependencyBreaker(
        name="database",
        failure_threshold=settings.db_breaker_failure_threshold,
        recovery_timeout_seconds=settings.db_breaker_recovery_seconds,
        is_failure=is_database_outage,
    )


def create_engine(settings: Settings, *, breaker: DependencyBreaker | None = None) -> AsyncEngine:
    """The engine; for PostgreSQL its connections open through ``breaker`` (a new one from the settings if None)."""
    url = make_url(settings.effective_database_url())
    if url.get_backend_name() == "sqlite":
        if url.database:
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, pool_pre_ping=False)
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    arguments = connect_arguments(
        url,
        connect_timeout_seconds=settings.db_connect_timeout_seconds,
        statement_timeout_seconds=settings.db_statement_timeout_seconds,
    )
    return create_async_engine(
        url,
        # The URL's parameters are in ``arguments`` (an async_creator replaces the dialect's own connect call).
        async_creator=guarded_creator(breaker=breaker or _breaker(settings), arguments=arguments),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        pool_pre_ping=True,  # a connection the server closed (restart, failover) is replaced, not handed out
        pool_recycle=1800,
    )


@dataclass(frozen=True, slots=True)
class Sessions:
    """Session factories: ``read`` for queries, ``write`` for transactions that change data."""

    read: async_sessionmaker[AsyncSession]
    write: async_sessionmaker[AsyncSession]


def create_sessions(engine: AsyncEngine) -> Sessions:
    # expire_on_commit=False: services return what they just wrote without another round trip.
    writer = engine.execution_options(**{WRITE_OPTION: True})
    return Sessions(
        read=async_sessionmaker(engine, expire_on_commit=False),
        write=async_sessionmaker(writer, expire_on_commit=False),
    )


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"
