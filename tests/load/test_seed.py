"""Production-sized data for a load run: users bulk-inserted into the target's database, in batches, with one
Argon2id hash for all (never one per row), plausible enough for the service to list and search, and removed again
without touching anyone else."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from impl.app import create_app
from impl.users.models import UserRecord
from load import seed
from tests.conftest import ADMIN_EMAIL, bearer, sign_in, test_settings

COUNT = seed.BATCH * 2 + 7  # three batches, the last one partial


@pytest.fixture
def service(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    """The service on the database (it migrates the schema and creates its admin), seeded while it runs."""
    with TestClient(create_app(test_settings(tmp_path / "data", database_url=database_url))) as client:
        asyncio.run(seed.seed(database_url, COUNT))
        yield client


async def _rows(database_url: str) -> list[UserRecord]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as connection:
            return list((await connection.execute(select(UserRecord))).all())  # type: ignore[arg-type]
    finally:
        await engine.dispose()


def test_seeded_users_are_many_varied_and_share_one_hash(service: TestClient, database_url: str) -> None:
    rows = [row for row in asyncio.run(_rows(database_url)) if row.email.endswith(f"@{seed.SEED_DOMAIN}")]

    assert len(rows) == COUNT
    assert asyncio.run(seed.count_users(database_url)) == COUNT + 1  # and the admin
    assert len({row.email for row in rows}) == COUNT
    hashes = {row.password_hash for row in rows}
    assert len(hashes) == 1, "one Argon2id hash reused, never one per row"
    assert str(next(iter(hashes))).startswith("$argon2id$")
    created = sorted(row.created_at for row in rows)
    assert (created[-1] - created[0]).days > 365
    assert {row.role for row in rows} == {"user", "moderator"}
    assert {row.active for row in rows} == {True, False}


def test_the_service_lists_pages_and_searches_the_seeded_table(service: TestClient) -> None:
    token = sign_in(service)

    page = service.get("/api/v1/users?limit=50&sort=name", headers=bearer(token))
    found = service.get("/api/v1/users?q=Hopper&limit=20", headers=bearer(token))

    assert page.status_code == 200, page.text
    assert len(page.json()["items"]) == 50
    assert found.status_code == 200, found.text
    assert len(found.json()["items"]) == 20
    assert all("Hopper" in user["name"] for user in found.json()["items"])


def test_removing_the_seed_deletes_the_seeded_users_and_nobody_else(service: TestClient, database_url: str) -> None:
    assert asyncio.run(seed.remove(database_url)) == COUNT

    assert [row.email for row in asyncio.run(_rows(database_url))] == [ADMIN_EMAIL]
    assert asyncio.run(seed.remove(database_url)) == 0
