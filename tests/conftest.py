"""Fixtures shared by the whole suite: a Settings on a throw-away data directory, the app built from it, a client."""

from __future__ import annotations

import asyncio
import functools
import os
import socket
import typing
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import fastapi.dependencies.models
import pytest
import redis.asyncio
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

from impl.app import create_app
from impl.platform.settings import Settings

# The admin every test app bootstraps at start-up (ADMIN_EMAIL / ADMIN_PASSWORD), and how tests sign in.
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "a passphrase only the test suite knows"  # nosec B105 - a test fixture


def test_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test app: the bootstrap admin, and rate limits off unless a test is about them."""
    values: dict[str, Any] = {
        "app_env": "test",
        "data_dir": data_dir,
        "admin_email": ADMIN_EMAIL,
        "admin_password": ADMIN_PASSWORD,
        "rate_limit_enabled": False,
        # OWASP's Argon2id floor (still compliant, the service refuses less): every test signs in, and the default
        # 64 MiB x 3 passes profile would dominate the suite's run time. tests/impl/auth tests the default.
        "password_hash_memory_kib": 19_456,
        "password_hash_iterations": 2,
        "password_hash_parallelism": 1,
        **overrides,
    }
    return Settings(**values)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a factory, not a test


def sign_in(client: TestClient, email: str = ADMIN_EMAIL, password: str = ADMIN_PASSWORD) -> str:
    """An access token for this account, from the real login operation."""
    response = client.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def release_app_caches() -> None:
    """Empty the process-wide caches that keep apps alive after their test.

    Our routes and guards are closures over the app's services, so anything that caches such a callable keeps its
    whole app (engine, caches, middleware) alive. A serving process builds one app; a test process builds thousands
    and grew to ~2 GB. Two kinds of cache hold them: FastAPI classifies every endpoint and dependency (coroutine?
    generator?) through ``functools.lru_cache``s of 4,096 entries keyed by the callable (every cache of that module
    is cleared, so one FastAPI adds later is covered too), and ``typing`` caches each ``Annotated[..., Depends(...)]``
    it builds (``typing._cleanups`` lists those caches' ``cache_clear``, as CPython's own test runner uses it).
    """
    for value in vars(fastapi.dependencies.models).values():
        if isinstance(value, functools._lru_cache_wrapper):
            value.cache_clear()
    for cleanup in typing._cleanups:  # type: ignore[attr-defined]
        cleanup()


@pytest.fixture(autouse=True)
def _apps_released_after_each_test() -> Iterator[None]:
    yield
    release_app_caches()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return test_settings(tmp_path / "data")


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # raise_server_exceptions=False: the client sees what a real client would (the 500 problem), not the exception.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


# The machine's shared servers. Tests that need them use these fixtures: a plain `make test` skips them with a
# clear message when a server is down; CI (CI=true, or CHARTER_REQUIRE_SERVICES=1) fails instead. The environment
# may point them elsewhere, and the reachability check then looks where the URL says.
POSTGRES_URL = os.environ.get("CHARTER_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("CHARTER_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REDIS_DATABASES = 16  # redis-server's default `databases`


def _services_required() -> bool:
    return os.environ.get("CHARTER_REQUIRE_SERVICES") == "1" or os.environ.get("CI", "").lower() == "true"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, url: str, default_port: int) -> None:
    parsed = make_url(url)
    host, port = parsed.host or "127.0.0.1", parsed.port or default_port
    if _reachable(host, port):
        return
    message = f"{name} is not reachable at {host}:{port}"
    if _services_required():
        pytest.fail(f"{message}; CI needs it (start it as the machine notes say)", pytrace=False)
    pytest.skip(f"{message}: tests that need the real {name} are skipped (CI runs them)")


def worker_redis_url(url: str, worker_id: str) -> str:
    """The Redis database of one pytest-xdist worker: the URL's database plus the worker's number.

    Tests start apps whose keys are not prefixed per test (a fresh database's user 1 is every test's user 1), so
    parallel workers must not share a key space. Without xdist (``worker_id == "master"``) the URL is kept.
    """
    if worker_id == "master":
        return url
    parsed = make_url(url)
    base = int(parsed.database or 0)
    database = base + int(worker_id.removeprefix("gw"))
    if database >= REDIS_DATABASES:
        raise pytest.UsageError(
            f"worker {worker_id} would use Redis database {database} (from {base}); run fewer workers (-n) or "
            "start from a lower database in CHARTER_TEST_REDIS_URL"
        )
    return parsed.set(database=str(database)).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def redis_url(worker_id: str) -> str:
    require_service("Redis", REDIS_URL, 6379)
    return worker_redis_url(REDIS_URL, worker_id)


@pytest.fixture(scope="session")
def postgres_url() -> str:
    require_service("PostgreSQL", POSTGRES_URL, 5432)
    return POSTGRES_URL


async def _delete_keys(url: str, prefix: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=500)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of the test's own on the shared Redis; every key under it is deleted afterwards (never FLUSHDB:
    the database is shared with other test processes)."""
    prefix = f"charter-test:{uuid.uuid4().hex}:"
    yield prefix
    asyncio.run(_delete_keys(redis_url, prefix))


async def admin_sql(postgres_url: str, statement: str) -> None:
    """Run one statement on the server's admin database (CREATE/DROP DATABASE cannot run in a transaction)."""
    url = make_url(postgres_url)
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def fresh_database(postgres_url: str, prefix: str = "charter_test") -> Iterator[str]:
    """A new, empty PostgreSQL database on the server, dropped (connections and all) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    asyncio.run(admin_sql(postgres_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(admin_sql(postgres_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'charter.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield url


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``database_url`` shared by a whole module (for suites that start one app per module)."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('db') / 'charter.db'}"
        return
    with fresh_database(request.getfixturevalue("postgres_url")) as url:
        yield url
