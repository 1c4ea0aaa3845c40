"""Migrations from an empty database produce exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from impl.migrations.metadata import target_metadata
from impl.platform.db.engine import create_engine
from impl.platform.db.migrations import PendingMigrationsError, alembic_config, apply_or_check, head_revision
from impl.platform.settings import Settings


def _differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, target_metadata))


async def _diff(database_url: str) -> list[Any]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(_differences)
    finally:
        await engine.dispose()


async def start_up(settings: Settings, database_url: str, *, mode: str) -> None:
    """What a starting worker does with the migrations, with its own engine."""
    engine = create_engine(settings)
    try:
        await apply_or_check(engine, database_url=database_url, mode=mode)
    finally:
        await engine.dispose()


def test_upgrade_from_empty_matches_the_models_exactly(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "head")
    assert asyncio.run(_diff(database_url)) == []


def test_downgrade_to_empty_and_up_again(database_url: str) -> None:
    config = alembic_config(database_url)
    command.upgrade(config, "head")
    command.downgrade(config, "base")
    command.upgrade(config, "head")
    assert asyncio.run(_diff(database_url)) == []


def test_check_mode_refuses_a_database_behind_the_code(database_url: str, tmp_path: Any) -> None:
    settings = Settings(app_env="test", data_dir=tmp_path, database_url=database_url)  # type: ignore[arg-type]

    async def check() -> None:
        await start_up(settings, database_url, mode="check")

    with pytest.raises(PendingMigrationsError, match=f"needs {head_revision(database_url)}"):
        asyncio.run(check())
    command.upgrade(alembic_config(database_url), "head")
    asyncio.run(check())  # at head: starts


def test_workers_starting_together_on_a_fresh_database_all_start(database_url: str, tmp_path: Any) -> None:
    # Each worker applies the migrations as it starts; several starting at once must not each create the tables
    # ("table idempotency_keys already exists" stopped the server). Each here has its own engine and loop.
    settings = Settings(app_env="test", data_dir=tmp_path, database_url=database_url)  # type: ignore[arg-type]

    def start_worker(_: int) -> None:
        asyncio.run(start_up(settings, database_url, mode="apply"))

    with ThreadPoolExecutor(4) as workers:
        list(workers.map(start_worker, range(4)))  # re-raises a worker's failure
    assert asyncio.run(_diff(database_url)) == []


def test_the_pending_migrations_error_names_a_make_target_that_exists() -> None:
    message = str(PendingMigrationsError.behind(current=None, head="0003"))
    target = re.search(r"`make ([a-z-]+)`", message)
    assert target is not None
    makefile = (Path(__file__).resolve().parents[3] / "Makefile").read_text()
    assert re.search(rf"^{target[1]}:", makefile, re.MULTILINE)
