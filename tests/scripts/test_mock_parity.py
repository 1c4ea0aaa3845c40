"""The mock (`make mock`: Prism on the spec) and the service answer one request set alike, status class by class.

A frontend built against Prism must not meet a different contract on the real service: each request below goes
to both, and both must succeed, or both refuse it. The ids, tokens and ETags are the service's real ones; Prism
checks them only against their schemas, which they satisfy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx2
import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from scripts.live_service import serving
from scripts.mock import prism_command
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.live_server import free_port


@dataclass(frozen=True)
class Call:
    name: str
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    json: Any = None
    data: dict[str, str] | None = None


@pytest.fixture(scope="module")
def prism(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx2.Client]:
    port = free_port()
    log = tmp_path_factory.mktemp("prism") / "prism.log"
    url = f"http://127.0.0.1:{port}"
    with (
        serving(prism_command(port=port), env=os.environ, log_path=log, ready_url=f"{url}/livez", timeout=90),
        httpx2.Client(base_url=url, timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(test_settings(tmp_path_factory.mktemp("parity") / "data"))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def calls(service: TestClient) -> list[Call]:
    pair = service.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    auth = bearer(pair["access_token"])
    refresh_form = {"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]}
    me = service.get("/api/v1/auth/me", headers=auth).json()
    user = f"/api/v1/users/{me['id']}"
    return [
        Call("login", "POST", "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}),
        Call("read a user", "GET", user, headers=auth),
        Call("read a user without a token", "GET", user),
        Call(
            "patch as merge-patch",
            "PATCH",
            user,
            headers={**auth, "Content-Type": "application/merge-patch+json"},
            content=b'{"name": "Ada Merge"}',
        ),
        Call("patch as plain JSON", "PATCH", user, headers=auth, json={"name": "Ada Json"}),
        Call("patch as text", "PATCH", user, headers={**auth, "Content-Type": "text/plain"}, content=b'{"name": "A"}'),
        Call("patch my profile as plain JSON", "PATCH", "/api/v1/auth/me", headers=auth, json={"name": "Ada Me"}),
        Call("create a user without fields", "POST", "/api/v1/users", headers=auth, json={}),
        Call("list users with limit 0", "GET", "/api/v1/users?limit=0", headers=auth),
        Call("list users", "GET", "/api/v1/users?limit=2", headers=auth),
        Call("list files", "GET", "/api/v1/files", headers=auth),
        Call("refresh by the OAuth2 form", "POST", "/api/v1/auth/refresh", data=refresh_form),
        Call("refresh by a form of another grant", "POST", "/api/v1/auth/refresh", data={"grant_type": "password"}),
        Call("health", "GET", "/health"),
    ]


def send(client: TestClient | httpx2.Client, call: Call) -> httpx2.Response:
    return client.request(
        call.method, call.path, headers=call.headers, content=call.content, json=call.json, data=call.data
    )


def test_prism_and_the_service_agree_on_every_status_class(prism: httpx2.Client, service: TestClient) -> None:
    disagreements = []
    for call in calls(service):
        mock, real = send(prism, call), send(service, call)
        if mock.status_code // 100 != real.status_code // 100:
            disagreements.append(
                f"{call.name}: Prism {mock.status_code} {mock.headers.get('sl-violations', '')}, "
                f"service {real.status_code} {real.text[:200]}"
            )
    assert not disagreements, "\n".join(disagreements)
