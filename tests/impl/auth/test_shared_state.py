"""Two real server processes on one PostgreSQL database and one Redis: what one learns, the other knows.

A logout on A must hold on B (the token blacklist is shared), and N processes must not grant N budgets (the
rate-limit counters are shared). Both servers trust 127.0.0.1 as a proxy, so each test names its client with a
fresh ``X-Forwarded-For`` address: the shared Redis keeps counters between runs and between other suites, and
a fresh address (and fresh accounts, in a fresh database) is a fresh key, with nothing flushed.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from scripts.live_service import ROOT, free_port, wait_until_ready
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, fresh_database

pytestmark = pytest.mark.slow

GENERAL_BUDGET = 4
MEMBER_PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture


@dataclass(frozen=True)
class Server:
    port: int

    def call(
        self, method: str, path: str, *, client: str, body: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """One request as the client at address ``client`` (behind the trusted proxy 127.0.0.1)."""
        headers = {"X-Forwarded-For": client, **(bearer(token) if token else {})}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(  # nosec B310 - our own local server
            f"http://127.0.0.1:{self.port}{path}", data=data, headers=headers, method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310
                raw = response.read()
                return response.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as error:
            raw = error.read()
            return error.code, json.loads(raw) if raw else None


def fresh_client() -> str:
    """An address no earlier run has been counted under (TEST-NET-less 10/8, 24 random bits)."""
    a, b, c = secrets.token_bytes(3)
    return f"10.{a}.{b}.{c}"


@pytest.fixture(scope="module")
def shared_database(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


def _start(*, port: int, database_url: str, redis_url: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "PORT": str(port),
        "WORKERS": "1",
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RATE_LIMIT_ENABLED": "true",
        "RATE_LIMIT_GENERAL": f"{GENERAL_BUDGET}/60",
        "TRUSTED_PROXIES": '["127.0.0.1"]',
    }
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "impl"], cwd=ROOT, env=env, stdout=out, stderr=out)


@pytest.fixture(scope="module")
def servers(
    shared_database: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Server, Server]]:
    root = tmp_path_factory.mktemp("shared_state")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        ports = []
        for label in ("a", "b"):  # one after the other: the first applies the migrations
            port = free_port()
            process = _start(
                port=port,
                database_url=shared_database,
                redis_url=redis_url,
                data_dir=root / label,
                log=root / f"{label}.log",
            )
            processes.append(process)
            wait_until_ready(f"http://127.0.0.1:{port}/readyz", process, timeout=30)
            ports.append(port)
        yield Server(ports[0]), Server(ports[1])
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


def test_a_logout_on_one_process_holds_on_the_other(servers: tuple[Server, Server]) -> None:
    a, b = servers
    client = fresh_client()
    status, pair = a.call(
        "POST", "/api/v1/auth/login", client=client, body={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert status == 200, pair
    token = pair["access_token"]
    assert b.call("GET", "/api/v1/auth/me", client=client, token=token)[0] == 200

    assert a.call("POST", "/api/v1/auth/logout", client=client, token=token)[0] == 204

    assert b.call("GET", "/api/v1/auth/me", client=client, token=token)[0] == 401
    assert (
        b.call("POST", "/api/v1/auth/refresh", client=client, body={"refresh_token": pair["refresh_token"]})[0] == 401
    )


def test_the_general_budget_is_shared_by_both_processes(servers: tuple[Server, Server]) -> None:
    a, b = servers
    client = fresh_client()
    email = f"s{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "name": "Shared Budget", "password": MEMBER_PASSWORD}
    assert a.call("POST", "/api/v1/auth/register", client=client, body=body)[0] == 202
    status, pair = b.call(
        "POST", "/api/v1/auth/login", client=client, body={"email": email, "password": MEMBER_PASSWORD}
    )
    assert status == 200, pair
    token = pair["access_token"]

    within = [
        (a, b)[n % 2].call("GET", "/api/v1/auth/me", client=client, token=token)[0] for n in range(GENERAL_BUDGET)
    ]
    assert within == [200] * GENERAL_BUDGET
    assert a.call("GET", "/api/v1/auth/me", client=client, token=token)[0] == 429
    assert b.call("GET", "/api/v1/auth/me", client=client, token=token)[0] == 429


def test_the_auth_budget_is_shared_and_kept_per_forwarded_client(servers: tuple[Server, Server]) -> None:
    a, b = servers
    attacker, bystander = fresh_client(), fresh_client()
    wrong = {"email": ADMIN_EMAIL, "password": "not the admin password at all"}

    statuses = [(a, b)[n % 2].call("POST", "/api/v1/auth/login", client=attacker, body=wrong)[0] for n in range(6)]

    assert statuses == [401] * 5 + [429]
    assert b.call("POST", "/api/v1/auth/login", client=attacker, body=wrong)[0] == 429
    # The trusted proxy's X-Forwarded-For names another client: that one has its own budget.
    assert a.call("POST", "/api/v1/auth/login", client=bystander, body=wrong)[0] == 401
