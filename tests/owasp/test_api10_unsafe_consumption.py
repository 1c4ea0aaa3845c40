"""API10:2023 Unsafe Consumption of APIs — a dependency that dies still gets every caller an answer, never a 500.

The Redis the service relies on (token blacklist, rate-limit store) is a throw-away `redis-server` this test starts
and kills. Then the blacklist fails closed (a protected call is 503 with Retry-After, not a revoked token let
through), the auth rate-limit policy fails closed (login is 503), and the general policy fails open (the JWKS is
served). Each answer arrives well inside the request budget; the bound is a sanity check, not a speed test.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from impl.app import create_app
from scripts.live_service import free_port
from tests.conftest import bearer, sign_in, test_settings
from tests.owasp.conftest import AUTH

REQUEST_BUDGET_SECONDS = 5.0


@pytest.fixture
def doomed_redis() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A private redis-server the test may kill; the machine's shared one is never touched."""
    executable = shutil.which("redis-server")
    if executable is None:
        pytest.fail("redis-server is not installed; CI needs it", pytrace=False)
    port = free_port()
    server = subprocess.Popen(
        [executable, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while True:
        try:
            redis.Redis.from_url(url).ping()
            break
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.05)
    try:
        yield url, server
    finally:
        if server.poll() is None:
            server.kill()
        server.wait()


@pytest.fixture
def client_then_redis_dies(
    tmp_path: Path, doomed_redis: tuple[str, subprocess.Popen[bytes]]
) -> Iterator[tuple[TestClient, str]]:
    """A rate-limited app on the private Redis, an admin signed in, and then Redis killed."""
    url, server = doomed_redis
    app = create_app(test_settings(tmp_path / "data", redis_url=url, rate_limit_enabled=True))
    with TestClient(app, raise_server_exceptions=False) as client:
        token = sign_in(client)
        assert client.get(f"{AUTH}/me", headers=bearer(token)).status_code == 200
        server.kill()
        server.wait()
        yield client, token


def _timed(call: object) -> tuple[int, dict[str, str], float]:
    started = time.monotonic()
    response = call()  # type: ignore[operator]
    return response.status_code, dict(response.headers), time.monotonic() - started


def test_a_protected_call_is_503_with_retry_after_when_the_blacklist_is_unreachable(
    client_then_redis_dies: tuple[TestClient, str],
) -> None:
    client, token = client_then_redis_dies

    status, headers, elapsed = _timed(lambda: client.get(f"{AUTH}/me", headers=bearer(token)))

    assert status == 503
    assert int(headers["retry-after"]) > 0
    assert elapsed < REQUEST_BUDGET_SECONDS


def test_login_fails_closed_with_503_when_the_rate_limit_store_is_unreachable(
    client_then_redis_dies: tuple[TestClient, str],
) -> None:
    client, _ = client_then_redis_dies

    status, headers, elapsed = _timed(
        lambda: client.post(f"{AUTH}/login", json={"email": "x@example.com", "password": "any password at all"})
    )

    assert status == 503
    assert "retry-after" in headers
    assert elapsed < REQUEST_BUDGET_SECONDS


def test_the_general_policy_fails_open_and_serves_the_jwks(client_then_redis_dies: tuple[TestClient, str]) -> None:
    client, _ = client_then_redis_dies

    status, _, elapsed = _timed(lambda: client.get("/.well-known/jwks.json"))

    assert status == 200
    assert elapsed < REQUEST_BUDGET_SECONDS
