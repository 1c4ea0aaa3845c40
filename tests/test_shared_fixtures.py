"""The suite's shared-server fixtures (tests/conftest.py): they look where the environment points, and give each
pytest-xdist worker its own Redis database."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
import weakref
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import bearer, release_app_caches, sign_in, test_settings, worker_redis_url
from tests.live_server import free_port

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
from tests.conftest import postgres_url, redis_url  # noqa: F401  (the fixtures under test)


def test_redis(redis_url):
    print("redis fixture gave", redis_url)


def test_postgres(postgres_url):
    print("postgres fixture gave", postgres_url)
"""


def run_probe(tmp_path: Path, **environment: str) -> subprocess.CompletedProcess[str]:
    """A pytest run of its own (the URLs are read at import), outside the repository's configuration."""
    (tmp_path / "test_probe.py").write_text(PROBE, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CI": "", "CHARTER_REQUIRE_SERVICES": "", **environment}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs", "-s", "test_probe.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_servers_named_by_the_environment_are_checked_where_they_are(tmp_path: Path) -> None:
    closed = free_port()  # nothing listens there, while the default ports may well be up
    result = run_probe(
        tmp_path,
        CHARTER_TEST_REDIS_URL=f"redis://127.0.0.1:{closed}/3",
        CHARTER_TEST_POSTGRES_URL=f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/test",
    )
    assert "2 skipped" in result.stdout, result.stdout + result.stderr
    assert f"Redis is not reachable at 127.0.0.1:{closed}" in result.stdout
    assert f"PostgreSQL is not reachable at 127.0.0.1:{closed}" in result.stdout
    assert "fixture gave" not in result.stdout


def test_without_xdist_the_redis_url_is_kept() -> None:
    assert worker_redis_url("redis://127.0.0.1:6379/10", "master") == "redis://127.0.0.1:6379/10"


def test_each_xdist_worker_gets_its_own_redis_database_counted_from_the_configured_one() -> None:
    urls = [worker_redis_url("redis://:pw@cache.internal:6380/10", f"gw{n}") for n in range(3)]
    assert urls == [
        "redis://:pw@cache.internal:6380/10",
        "redis://:pw@cache.internal:6380/11",
        "redis://:pw@cache.internal:6380/12",
    ]
    assert worker_redis_url("redis://127.0.0.1:6379", "gw1") == "redis://127.0.0.1:6379/1"


def test_more_workers_than_redis_databases_is_refused_rather_than_shared() -> None:
    with pytest.raises(pytest.UsageError, match="would use Redis database 16"):
        worker_redis_url("redis://127.0.0.1:6379/14", "gw2")


def test_an_app_a_test_has_served_with_is_freed_once_the_test_lets_go_of_it(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data"))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
        assert client.get("/api/v1/users", headers=bearer(sign_in(client))).status_code == 200
    freed = weakref.ref(app)
    del app, client
    release_app_caches()  # what every test's teardown does (tests/conftest.py)
    gc.collect()
    assert freed() is None
