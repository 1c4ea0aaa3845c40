"""The files suite's helpers: one real server per database for the API tests, accounts, uploads."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from impl.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.live_server import LiveServer, live_server

FILES = "/api/v1/files"
PASSWORD = "amber orchard whistles under rain"  # nosec B105 - a test fixture
# Small, so that "too large" is cheap to send; several write buffers and sniff windows still fit.
UPLOAD_LIMIT = 512 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"


@pytest.fixture(scope="module")
def server(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    settings = test_settings(
        tmp_path_factory.mktemp("files") / "data", database_url=module_database_url, max_upload_bytes=UPLOAD_LIMIT
    )
    with live_server(create_app(settings)) as running:
        yield running


def files_root(server: LiveServer) -> Path:
    root: Path = server.app.state.settings.data_dir / "files"
    return root


def stored(server: LiveServer) -> set[Path]:
    """Every file under the store, finished or temporary."""
    root = files_root(server)
    return {path for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def login(server: LiveServer, email: str, password: str) -> str:
    response = httpx.post(f"{server.url}/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def admin_token(server: LiveServer) -> str:
    return login(server, ADMIN_EMAIL, ADMIN_PASSWORD)


def new_user_token(server: LiveServer) -> str:
    email = f"f{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "name": "File Owner", "password": PASSWORD}
    assert httpx.post(f"{server.url}/api/v1/auth/register", json=body).status_code == 202
    return login(server, email, PASSWORD)


@pytest.fixture
def token(server: LiveServer) -> str:
    """A fresh user's access token: every test starts with nobody's files but its own."""
    return new_user_token(server)


def upload(
    server: LiveServer, token: str, content: bytes, *, filename: str = "notes.txt", part_type: str = "text/plain"
) -> httpx.Response:
    files = {"file": (filename, content, part_type)}
    return httpx.post(f"{server.url}{FILES}", headers=bearer(token), files=files, timeout=30)


def uploaded(server: LiveServer, token: str, content: bytes, **kwargs: str) -> dict[str, object]:
    response = upload(server, token, content, **kwargs)
    assert response.status_code == 201, response.text
    body: dict[str, object] = response.json()
    return body
