"""The auth suite's HTTP fixtures: an app on each database, an anonymous client, and helpers to make accounts.

Every API test runs on a SQLite file and on a fresh PostgreSQL database (``database_url`` is parametrised), since
sign-in, refresh rotation and the bootstrap admin all depend on how the database answers conditional writes.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from httpx2 import Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from impl.app import create_app
from impl.platform.settings import Settings
from tests.conftest import bearer, sign_in, test_settings

AUTH = "/api/v1/auth"
USERS = "/api/v1/users"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
# Passphrases that pass the rules for every account these tests make (none contains an email or a name).
PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture
NEW_PASSWORD = "seven copper kites over the marsh"  # nosec B105 - a test fixture


@dataclass(frozen=True)
class Member:
    """A registered account: what a person would type to sign in."""

    email: str
    password: str
    name: str


def register(client: TestClient, email: str, *, name: str = "Quentin Reader", password: str = PASSWORD) -> Response:
    return client.post(f"{AUTH}/register", json={"email": email, "name": name, "password": password})


def login(client: TestClient, email: str, password: str = PASSWORD) -> Response:
    return client.post(f"{AUTH}/login", json={"email": email, "password": password})


def tokens(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    """A TokenPair from the real login operation."""
    response = login(client, email, password)
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def refresh(client: TestClient, refresh_token: str) -> Response:
    return client.post(f"{AUTH}/refresh", json={"refresh_token": refresh_token})


def me(client: TestClient, access_token: str) -> Response:
    return client.get(f"{AUTH}/me", headers=bearer(access_token))


def admin_headers(client: TestClient) -> dict[str, str]:
    return bearer(sign_in(client))


def set_active(client: TestClient, user_id: str, *, active: bool) -> None:
    """The admin deactivates (or reactivates) an account through the users API."""
    response = client.patch(
        f"{USERS}/{user_id}",
        json={"active": active},
        headers={**admin_headers(client), **MERGE_PATCH, "If-Match": "*"},
    )
    assert response.status_code == 200, response.text


def run_sql(database_url: str, statement: str, **parameters: Any) -> list[Any]:
    """One statement on the test's database, outside the app: how tests plant or read what the API cannot."""

    async def execute() -> list[Any]:
        engine = create_async_engine(database_url)
        try:
            async with engine.begin() as connection:
                result = await connection.execute(text(statement), parameters)
                return list(result.all()) if result.returns_rows else []
        finally:
            await engine.dispose()

    return asyncio.run(execute())


@pytest.fixture
def auth_settings(database_url: str, tmp_path: Path) -> Settings:
    return test_settings(tmp_path / "data", database_url=database_url)


@pytest.fixture
def auth_app(auth_settings: Settings) -> FastAPI:
    return create_app(auth_settings)


@pytest.fixture
def anon(auth_app: FastAPI) -> Iterator[TestClient]:
    """A client with no credentials; tests add them per request, as several accounts are often in play."""
    with TestClient(auth_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def member(anon: TestClient) -> Member:
    """A freshly registered account with the role ``user``."""
    account = Member(email=f"m{uuid.uuid4().hex[:10]}@example.com", password=PASSWORD, name="Quentin Reader")
    response = register(anon, account.email, name=account.name, password=account.password)
    assert response.status_code == 202, response.text
    return account
