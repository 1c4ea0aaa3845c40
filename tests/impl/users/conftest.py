"""The users suite runs against both databases: a SQLite file and a fresh database on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import ASGITransport, AsyncClient

from impl.app import create_app
from impl.platform.settings import Settings


@pytest.fixture
def users_settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(app_env="test", data_dir=tmp_path / "data", database_url=database_url)  # type: ignore[arg-type]


@pytest.fixture
def users_app(users_settings: Settings) -> FastAPI:
    return create_app(users_settings)


@pytest.fixture
def api(users_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(users_app, raise_server_exceptions=False) as client:
        yield client


@asynccontextmanager
async def concurrent_client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """An async client on the app in this event loop, with its lifespan run, for truly concurrent requests."""
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
