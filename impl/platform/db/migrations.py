"""Apply or check Alembic migrations at start-up: migrations are the only way the schema changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


class PendingMigrationsError(RuntimeError):
    """The database is behind the code's migrations and the service is configured only to check them."""


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
        # Alembic's env.py runs its own event loop; keep it off ours by giving it a thread.
        await asyncio.to_thread(command.upgrade, alembic_config(database_url), "head")
        return
    current = await current_revision(engine)
    if current != head:
        raise PendingMigrationsError(
            f"the database is at migration {current or 'none'} but the code needs {head}; "
            "run `make migrate` (or start once with DB_MIGRATIONS=apply)"
        )
