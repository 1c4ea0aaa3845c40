"""The demo suite talks to a real uvicorn over a loopback socket: loop responsiveness only shows on a real server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
from fastapi import FastAPI

from impl.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.live_server import LiveServer, live_server


@contextmanager
def served(data_dir: Path, *, prepare: Any = None, **overrides: Any) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    """A live server of the real app (``prepare(app)`` may add test-only routes) and the admin's auth header."""
    app: FastAPI = create_app(test_settings(data_dir, **overrides))
    if prepare is not None:
        prepare(app)
    with live_server(app) as server:
        response = httpx.post(
            f"{server.url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        assert response.status_code == 200, response.text
        yield server, bearer(response.json()["access_token"])
