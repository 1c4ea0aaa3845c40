"""Redis dies under load and comes back: the service degrades to 503s (or fails open), never to 500s, stays ready
(Redis is shared by every replica; /health/detailed reports it), recovers by itself once Redis is back, and loses
no acknowledged write.

What needs Redis: the token blacklist (every authenticated request, fails closed), cache invalidation after a write
(fails closed: the write is not acknowledged as a plain success), the event bus. /health needs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest

from tests.conftest import bearer
from tests.faults.load import admin_token
from tests.faults.readback import lost_users
from tests.faults.scenario import FaultRun, assert_recovered, describe, fault_under_load
from tests.server_processes import fresh_database, server_process
from tests.throwaway_redis import throwaway_redis

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(postgres_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FaultRun, str]]:
    data_dir: Path = tmp_path_factory.mktemp("redis_fault")
    with (
        fresh_database(postgres_url) as database_url,
        throwaway_redis() as redis,
        server_process(data_dir=data_dir, database_url=database_url, REDIS_URL=redis.url) as server,
    ):
        token = admin_token(server.url)
        me = httpx.get(f"{server.url}/api/v1/auth/me", headers=bearer(token), timeout=10)
        assert me.status_code == 200, me.text
        yield (
            fault_under_load(
                base_url=server.url,
                token=token,
                known_user_id=me.json()["id"],
                kill=redis.kill,
                restart=redis.restart,
            ),
            database_url,
        )


def test_no_answer_is_a_500_only_2xx_or_a_503_problem_with_retry_after(run: tuple[FaultRun, str]) -> None:
    fault, _ = run
    assert fault.unexpected() == [], describe(fault.unexpected(), since=fault.killed_at)


def test_the_outage_is_answered_with_503_where_redis_is_needed(run: tuple[FaultRun, str]) -> None:
    fault, _ = run
    # Authenticated operations check the shared token blacklist, which fails closed.
    during = fault.load.between(fault.killed_at + 0.5, fault.restarted_at)
    assert {o.operation for o in during} >= {"health", "read_user", "create_user", "login"}
    assert any(o.is_proper_unavailable for o in during if o.operation in ("read_user", "create_user"))
    assert all(o.status == 200 for o in during if o.operation == "health")


def test_readiness_stays_200_during_the_outage_of_the_shared_redis(run: tuple[FaultRun, str]) -> None:
    # Every replica shares Redis: NotReady would take them all out of the load balancer at once, and hide the
    # operations that still work (/health, sign-in's failures answered properly); /health/detailed says degraded.
    fault, _ = run
    late = [o for o in fault.readiness_in_outage if o.started > fault.killed_at + 1.0]
    assert late, "no readiness probe in the outage"
    assert all(o.status == 200 for o in late), describe(late, since=fault.killed_at)


def test_the_service_recovers_without_a_restart_within_the_bound(run: tuple[FaultRun, str]) -> None:
    fault, _ = run
    assert_recovered(fault, dependency="Redis")


def test_every_acknowledged_create_is_in_the_database(run: tuple[FaultRun, str]) -> None:
    fault, database_url = run
    assert fault.load.created, "no create was acknowledged"
    assert lost_users(database_url, fault.load.created) == {}
