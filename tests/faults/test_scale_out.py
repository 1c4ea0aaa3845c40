"""Two server processes on one PostgreSQL database and one Redis: a change made through one is what the other
serves next, even when the other had just cached the old version (the read cache is shared and invalidated).

Rate limits and revocation across processes are tested in tests/impl/auth/test_shared_state.py.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import bearer
from tests.faults.load import REQUEST_TIMEOUT, admin_token
from tests.server_processes import ServerProcess, fresh_database, server_process
from tests.throwaway_redis import throwaway_redis

pytestmark = pytest.mark.slow

CACHE_HITS = re.compile(r'^charter_cache_requests_total\{result="hit"\} (\S+)$', re.MULTILINE)


@pytest.fixture(scope="module")
def servers(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ...]]:
    root: Path = tmp_path_factory.mktemp("scale_out")
    with (
        fresh_database(postgres_url) as database_url,
        throwaway_redis() as redis,
        # One after the other (server_process waits for readiness): the first applies the migrations.
        server_process(data_dir=root / "a", database_url=database_url, REDIS_URL=redis.url) as a,
        server_process(data_dir=root / "b", database_url=database_url, REDIS_URL=redis.url) as b,
    ):
        yield a, b


def cache_hits(server: ServerProcess) -> float:
    found = CACHE_HITS.search(httpx.get(f"{server.url}/metrics", timeout=REQUEST_TIMEOUT).text)
    return float(found.group(1)) if found else 0.0


def read(server: ServerProcess, user_id: str, token: str, **headers: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/api/v1/users/{user_id}", headers={**bearer(token), **headers}, timeout=REQUEST_TIMEOUT
    )


def test_an_update_on_one_process_is_read_at_once_on_the_other_despite_its_cache(
    servers: tuple[ServerProcess, ...],
) -> None:
    a, b = servers
    token = admin_token(a.url)  # one signing key: a token from A is good on B
    email = f"s{uuid.uuid4().hex[:12]}@example.com"
    created = httpx.post(
        f"{a.url}/api/v1/users", json={"email": email, "name": "Before"}, headers=bearer(token), timeout=REQUEST_TIMEOUT
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    first = read(b, user_id, token)
    hits = cache_hits(b)
    cached = read(b, user_id, token)
    assert cached.headers["ETag"] == first.headers["ETag"]
    assert cache_hits(b) > hits, "B did not serve the second read from the cache"

    updated = httpx.patch(
        f"{a.url}/api/v1/users/{user_id}",
        json={"name": "After"},
        headers={**bearer(token), "If-Match": first.headers["ETag"], "Content-Type": "application/merge-patch+json"},
        timeout=REQUEST_TIMEOUT,
    )
    assert updated.status_code == 200, updated.text

    fresh = read(b, user_id, token)
    assert fresh.status_code == 200
    assert fresh.headers["ETag"] == updated.headers["ETag"] != first.headers["ETag"]
    assert fresh.json()["name"] == "After"
    # A client revalidating its old copy on B is told it changed, not that it is still fresh.
    revalidated = read(b, user_id, token, **{"If-None-Match": first.headers["ETag"]})
    assert revalidated.status_code == 200
    assert revalidated.headers["ETag"] == updated.headers["ETag"]


def test_a_delete_on_one_process_is_seen_at_once_on_the_other(servers: tuple[ServerProcess, ...]) -> None:
    a, b = servers
    token = admin_token(b.url)
    email = f"d{uuid.uuid4().hex[:12]}@example.com"
    created = httpx.post(
        f"{b.url}/api/v1/users", json={"email": email, "name": "Doomed"}, headers=bearer(token), timeout=REQUEST_TIMEOUT
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    etag = read(b, user_id, token).headers["ETag"]
    assert read(b, user_id, token).status_code == 200  # cached on B

    deleted = httpx.delete(
        f"{a.url}/api/v1/users/{user_id}", headers={**bearer(token), "If-Match": etag}, timeout=REQUEST_TIMEOUT
    )
    assert deleted.status_code == 204, deleted.text

    assert read(b, user_id, token).status_code == 404
