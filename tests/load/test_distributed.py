"""A distributed load run end to end: a Locust master and two workers (separate processes, as on separate machines)
against a live service with two workers on PostgreSQL and Redis. The master judges on the sum of what its workers
sent, cleans up once, and fails the run on an SLO breach (forced here: an objective no request can meet)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
import yaml
from alembic import command

from impl.platform.db.migrations import alembic_config
from scripts.live_service import ROOT, free_port, stop
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer
from tests.server_processes import ServerProcess, fresh_database, server_process

pytestmark = pytest.mark.slow

RUN_SECONDS = 6
FINISHED = re.compile(r"worker \S+ finished: (\d+) requests sent")
RUN_ID = re.compile(r"run id (load-[0-9a-f]+)")


@pytest.fixture(scope="module")
def service(postgres_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with fresh_database(postgres_url) as database_url:
        # Migrated first: two workers starting on an empty database would both create Alembic's table.
        command.upgrade(alembic_config(database_url), "head")
        with server_process(
            data_dir=tmp_path_factory.mktemp("service"),
            database_url=database_url,
            REDIS_URL=redis_url,
            WORKERS="2",
            DB_MIGRATIONS="check",
        ) as server:
            yield server


def _breach_spec(folder: Path) -> Path:
    """The project's spec with getReadiness (a database round trip: never under a microsecond) held to 1 µs."""
    spec = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    spec["paths"]["/readyz"]["get"]["x-slo"]["p95_ms"] = 0.001
    path = folder / "breach.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def _load_run(*argv: str, log: Path, admin: bool) -> subprocess.Popen[bytes]:
    """``make load-master`` (with the admin's variables) or ``make load-worker`` (without: the master sends them)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_LOAD_")}
    if admin:
        env |= {"CHARTER_LOAD_ADMIN_EMAIL": ADMIN_EMAIL, "CHARTER_LOAD_ADMIN_PASSWORD": ADMIN_PASSWORD}
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "scripts.load_run", *argv], cwd=ROOT, env=env, stdout=out, stderr=out
        )


@pytest.fixture(scope="module")
def run(service: ServerProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, Path]]:
    """One distributed run: its master's exit code and the folder with every process's log and the reports."""
    folder = tmp_path_factory.mktemp("distributed")
    port = free_port()
    master = _load_run(
        *("--host", service.url, "--master", "--expect-workers", "2", "--master-bind-port", str(port)),
        *("--users", "6", "--spawn-rate", "6", "--run-time", f"{RUN_SECONDS}s", "--name", "distributed"),
        *("--reports", str(folder), "--slo-spec", str(_breach_spec(folder)), "--slo-min-requests", "1"),
        *("--journeys", "Visitor", "Administrator", "FileOwner"),
        log=folder / "master.log",
        admin=True,
    )
    workers = [_load_run("--worker", f"127.0.0.1:{port}", log=folder / f"worker-{n}.log", admin=False) for n in (1, 2)]
    try:
        code = master.wait(timeout=RUN_SECONDS + 60)
        for worker in workers:
            worker.wait(timeout=15)  # the master's quit ends them
        yield code, folder
    finally:
        for process in (master, *workers):
            stop(process, timeout=5)


def _text(folder: Path, name: str) -> str:
    return (folder / name).read_text(encoding="utf-8", errors="replace")


def _aggregated_requests(folder: Path) -> int:
    (stats,) = folder.glob("*/distributed_stats.csv")
    with stats.open(encoding="utf-8") as file:
        (total,) = [row for row in csv.DictReader(file) if row["Name"] == "Aggregated"]
    return int(total["Request Count"])


def test_the_master_judges_exactly_what_its_two_workers_sent(run: tuple[int, Path]) -> None:
    _, folder = run
    sent = [int(m) for n in (1, 2) for m in FINISHED.findall(_text(folder, f"worker-{n}.log"))]

    assert len(sent) == 2, "each worker says once how many requests it sent"
    assert all(count > 0 for count in sent), sent
    assert _aggregated_requests(folder) == sum(sent)
    verdict = _text(folder, next(folder.glob("*/distributed-slo.txt")).relative_to(folder).as_posix())
    assert f"distributed: 2 workers counted {sum(sent):,} requests" in verdict
    assert f"the master aggregated {sum(sent):,}" in verdict


def test_the_run_is_cleaned_up_once_by_the_master_and_leaves_no_user(
    run: tuple[int, Path], service: ServerProcess
) -> None:
    _, folder = run
    logs = {name: _text(folder, name) for name in ("master.log", "worker-1.log", "worker-2.log")}
    (run_id,) = set(RUN_ID.findall(logs["master.log"]))

    assert [name for name, text in logs.items() for _ in re.findall("cleanup deleted", text)] == ["master.log"]
    token = httpx.post(
        f"{service.url}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}, timeout=30
    ).json()["access_token"]
    left = httpx.get(f"{service.url}/api/v1/users", params={"q": run_id}, headers=bearer(token), timeout=30)
    assert left.status_code == 200
    assert left.json()["items"] == []
    assert "left: 0 files, 0 users" in logs["master.log"]


def test_a_breached_slo_fails_the_run_from_the_masters_numbers(run: tuple[int, Path]) -> None:
    code, folder = run
    verdict = _text(folder, next(folder.glob("*/distributed-slo.txt")).relative_to(folder).as_posix())

    assert code == 1
    (readiness,) = [line for line in verdict.splitlines() if line.startswith("getReadiness ")]
    assert "BREACH: p95" in readiness
    assert "SLO BREACHED by 1 of" in verdict
    assert (next(folder.glob("*/distributed-p95.svg"))).read_text(encoding="utf-8").startswith("<svg")
