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
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, sign_in, test_settings


@pytest.fixture
def users_settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(tmp_path / "data", database_url=database_url)


@pytest.fixture
def users_app(users_settings: Settings) -> FastAPI:
    return create_app(users_settings)


@pytest.fixture
def api(users_app: FastAPI) -> Iterator[TestClient]:
    """A client signed in as the bootstrap admin, who may call every users operation."""
    with TestClient(users_app, raise_server_exceptions=False) as client:
        client.headers.update(bearer(sign_in(client)))
        yield client


@asynccontextmanager
async def concurrent_client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """An async client on the app in this event loop, with its lifespan run, for truly concurrent requests."""
    async with app.router.lifespan_context(app):
        transport = ASGITransport(app=app, raise_app_exceptions=False)
        async with AsyncClient(transport=transport, base_url="http://testserver") as client:
            response = await client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
            client.headers.update(bearer(response.json()["access_token"]))
            yield client
