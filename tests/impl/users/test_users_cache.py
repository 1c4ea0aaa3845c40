"""Reads of a user are cached (in-process, or Redis with REDIS_URL); a write is never followed by a stale read."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import bearer, sign_in, test_settings
from tests.impl.users.conftest import concurrent_client

USERS = "/api/v1/users"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(params=["memory", "redis"])
def cached_app(request: pytest.FixtureRequest, tmp_path: Path) -> FastAPI:
    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    settings = test_settings(tmp_path, redis_url=redis_url, cache_ttl_seconds=300)
    return create_app(settings)


@pytest.fixture
def cached_api(cached_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(cached_app, raise_server_exceptions=False) as client:
        client.headers.update(bearer(sign_in(client)))
        yield client


def test_every_write_is_visible_to_the_next_read(cached_api: TestClient) -> None:
    user = cached_api.post(USERS, json={"email": "c@example.com", "name": "Cached"}).json()
    url = f"{USERS}/{user['id']}"
    for round_ in range(5):
        assert cached_api.get(url).status_code == 200  # warm the cache with the current version
        changed = cached_api.patch(url, json={"name": f"Name {round_}"}, headers=MERGE)
        assert changed.status_code == 200
        read = cached_api.get(url)
        assert read.json()["name"] == f"Name {round_}"
        assert read.headers["etag"] == changed.headers["etag"]
    replaced = cached_api.put(url, json={"email": "c@example.com", "name": "Put", "active": False})
    assert cached_api.get(url).json() == replaced.json()
    assert cached_api.delete(url).status_code == 204
    assert cached_api.get(url).status_code == 404
    assert cached_api.head(url).status_code == 404


def test_no_stale_read_after_a_write_under_concurrent_reads(cached_app: FastAPI) -> None:
    async def scenario() -> list[tuple[int, str]]:
        async with concurrent_client(cached_app) as client:
            user = (await client.post(USERS, json={"email": "r@example.com", "name": "v0"})).json()
            url = f"{USERS}/{user['id']}"
            stale: list[tuple[int, str]] = []
            for version in range(1, 8):
                # Readers hammer the user while the write happens; once the write is acknowledged,
                # every read that starts afterwards must see it.
                readers = [asyncio.create_task(client.get(url)) for _ in range(10)]
                write = await client.patch(url, json={"name": f"v{version}"}, headers=MERGE)
                assert write.status_code == 200
                after: list[Any] = await asyncio.gather(*(client.get(url) for _ in range(5)))
                stale += [(version, r.json()["name"]) for r in after if r.json()["name"] != f"v{version}"]
                await asyncio.gather(*readers)
            return stale

    assert asyncio.run(scenario()) == []
