"""Apply or check Alembic migrations at start-up: migrations are the only way the schema changes."""

from __future__ import annotations

import asyncio
import fcntl
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
# PostgreSQL's advisory lock key for applying migrations (any constant the service uses for nothing else).
MIGRATION_LOCK_KEY = 0x43484D47  # "CHMG"


class PendingMigrationsError(RuntimeError):
    """The database is behind the code's migrations and the service is configured only to check them."""

    @classmethod
    def behind(cls, *, current: str | None, head: str | None) -> PendingMigrationsError:
        return cls(
            f"the database is at migration {current or 'none'} but the code needs {head}; "
            "run `make migrate` (or start once with DB_MIGRATIONS=apply)"
        )


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's ini interpolation would choke on a '%' in a password.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def head_revision(database_url: str) -> str | None:
    return ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()


def _current_revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def apply_or_check(engine: AsyncEngine, *, database_url: str, mode: str) -> None:
    """``apply``: upgrade to head. ``check``: refuse to start when the database is not at head."""
    head = head_revision(database_url)
    if mode == "apply":
        # Several workers (or replicas) start at once: one applies the migrations, the others wait, then find
        # nothing left to do. Alembic's env.py runs its own event loop; keep it off ours by giving it a thread.
        async with migration_lock(engine, database_url):
            await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")
        return
    current = await current_revision(engine)
    if current != head:
        raise PendingMigrationsError.behind(current=current, head=head)


@asynccontextmanager
async def migration_lock(engine: AsyncEngine, database_url: str) -> AsyncIterator[None]:
    """Held by one process at a time: PostgreSQL's session advisory lock, or for a SQLite file an exclusive
    ``flock`` on a file beside it (released by the kernel if the process dies). An in-memory SQLite database is
    one process's own: no lock."""
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            try:
                yield
            finally:
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
        return
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    descriptor = await asyncio.to_thread(os.open, f"{url.database}.migrations.lock", os.O_CREAT | os.O_RDWR, 0o600)
    try:
        await asyncio.to_thread(fcntl.flock, descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock
