"""PostgreSQL crashes under load and comes back on the same port and data directory: the service answers 503
problems (never 500s), /readyz says so, the pool reconnects by itself, and every acknowledged create survives.

The cluster is the test's own (tests/faults/throwaway_postgres.py), never the shared server on 5432. Without Redis:
the token blacklist and cache are in-process here, so the database is the only dependency that fails.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx2 as httpx
import pytest

from tests.conftest import bearer
from tests.faults.load import admin_token
from tests.faults.readback import lost_users
from tests.faults.scenario import FaultRun, assert_recovered, describe, fault_under_load
from tests.faults.throwaway_postgres import throwaway_postgres_or_skip
from tests.server_processes import server_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[FaultRun, str]]:
    with throwaway_postgres_or_skip() as postgres:
        with server_process(data_dir=tmp_path_factory.mktemp("postgres_fault"), database_url=postgres.url) as server:
            token = admin_token(server.url)
            me = httpx.get(f"{server.url}/api/v1/auth/me", headers=bearer(token), timeout=10)
            assert me.status_code == 200, me.text
            fault = fault_under_load(
                base_url=server.url,
                token=token,
                known_user_id=me.json()["id"],
                kill=postgres.kill,
                restart=postgres.restart,
            )
        yield fault, postgres.url


def test_no_answer_is_a_500_only_2xx_or_a_503_problem_with_retry_after(run: tuple[FaultRun, str]) -> None:
    fault, _ = run
    assert fault.unexpected() == [], describe(fault.unexpected(), since=fault.killed_at)


def test_the_outage_is_answered_with_503_by_what_needs_the_database(run: tuple[FaultRun, str]) -> None:
    fault, _ = run
    during = fault.load.between(fault.killed_at + 0.5, fault.restarted_at)
    assert {o.operation for o in during} >= {"health", "read_user", "create_user", "login"}
    assert any(o.is_proper_unavailable for o in during if o.operation == "create_user")
    assert any(o.is_proper_unavailable for o in during if o.operation == "login")
    assert all(o.status == 200 for o in during if o.operation == "health")


def test_readiness_flips_to_503_during_the_outage(run: tuple[FaultRun, str]) -> None:
    fault, _ = run
    late = [o for o in fault.readiness_in_outage if o.started > fault.killed_at + 1.0]
    assert late, "no readiness probe in the outage"
    assert all(o.is_proper_unavailable for o in late), describe(late, since=fault.killed_at)


def test_the_service_recovers_without_a_restart_within_the_bound(run: tuple[FaultRun, str]) -> None:
    fault, _ = run
    assert_recovered(fault, dependency="PostgreSQL")


def test_every_acknowledged_create_survives_the_crash(run: tuple[FaultRun, str]) -> None:
    fault, database_url = run
    assert fault.load.created, "no create was acknowledged"
    assert lost_users(database_url, fault.load.created) == {}
