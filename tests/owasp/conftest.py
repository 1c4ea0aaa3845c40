"""Fixtures for the OWASP API Security Top 10 (2023) suites: apps, an admin client, and accounts made on demand."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import bearer, sign_in, test_settings

AUTH = "/api/v1/auth"
USERS = "/api/v1/users"
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}
PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture


@dataclass(frozen=True)
class Account:
    id: str
    email: str
    password: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def unique_email(prefix: str = "owasp") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def make_account(client: TestClient, admin_token: str, *, role: str = "user") -> Account:
    """An account the admin creates with a password, then signed in through the real login operation."""
    email = unique_email()
    response = client.post(
        USERS,
        json={"email": email, "name": "Olive Tester", "role": role, "password": PASSWORD},
        headers=bearer(admin_token),
    )
    assert response.status_code == 201, response.text
    return Account(id=response.json()["id"], email=email, password=PASSWORD, token=sign_in(client, email, PASSWORD))


@pytest.fixture(scope="module")
def api(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """One app per module and database (SQLite, PostgreSQL): starting an app costs a second or two, and every test
    makes its own accounts anyway."""
    app = create_app(test_settings(tmp_path_factory.mktemp("owasp") / "data", database_url=module_database_url))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="module")
def admin_token(api: TestClient) -> str:
    return sign_in(api)


@pytest.fixture
def db_app(database_url: str, tmp_path: Path) -> FastAPI:
    """An app on each database (SQLite file, fresh PostgreSQL database), for the object- and property-level rules."""
    return create_app(test_settings(tmp_path / "data", database_url=database_url))


@pytest.fixture
def db_client(db_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(db_app, raise_server_exceptions=False) as client:
        yield client


@pytest.fixture
def db_admin(db_client: TestClient) -> str:
    return sign_in(db_client)
