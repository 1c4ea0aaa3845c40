"""`make load`'s runner: bounded, reported Locust runs; a remote target needs an admin and is never started here."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from scripts import load_run


def _args(tmp_path: Path, *argv: str) -> argparse.Namespace:
    args = load_run.parser().parse_args(["--users", "7", "--spawn-rate", "2", "--run-time", "15s", *argv])
    args.name, args.reports = "smoke", tmp_path
    return args


def test_locust_runs_headless_bounded_and_writes_its_reports(tmp_path: Path) -> None:
    command = load_run.locust_command(_args(tmp_path), "http://127.0.0.1:9")

    assert "--headless" in command
    assert command[command.index("--host") + 1] == "http://127.0.0.1:9"
    assert command[command.index("--users") + 1] == "7"
    assert command[command.index("--spawn-rate") + 1] == "2.0"
    assert command[command.index("--run-time") + 1] == "15s"
    assert command[command.index("--csv") + 1] == str(tmp_path / "smoke")
    assert command[command.index("--html") + 1] == str(tmp_path / "smoke.html")
    assert command[command.index("--slo-report") + 1] == str(tmp_path / "smoke-slo.txt")
    assert command[command.index("--slo-chart") + 1] == str(tmp_path / "smoke-p95.svg")
    assert command[command.index("--locustfile") + 1].endswith("load/locustfile.py")
    assert "--processes" not in command
    assert "--master" not in command
    assert "--slo-errors-only" not in command


def test_processes_run_that_many_local_workers_under_one_master(tmp_path: Path) -> None:
    command = load_run.locust_command(_args(tmp_path, "--processes", "3"), "http://127.0.0.1:9")

    assert command[command.index("--processes") + 1] == "3"


def test_a_master_waits_for_its_workers_on_loopback_unless_told_otherwise(tmp_path: Path) -> None:
    command = load_run.locust_command(_args(tmp_path, "--master", "--expect-workers", "4"), "http://127.0.0.1:9")

    assert command[command.index("--expect-workers") + 1] == "4"
    assert command[command.index("--master-bind-host") + 1] == "127.0.0.1"
    assert command[command.index("--master-bind-port") + 1] == "5557"


def test_a_worker_needs_only_its_masters_address(tmp_path: Path) -> None:
    command = load_run.worker_command(_args(tmp_path, "--worker", "10.0.0.5:6000", "--processes", "2"))

    assert command[command.index("--master-host") + 1] == "10.0.0.5"
    assert command[command.index("--master-port") + 1] == "6000"
    assert command[command.index("--processes") + 1] == "2"
    assert "--host" not in command
    assert "--headless" not in command


def test_the_smoke_run_judges_errors_only_and_seeded_data_is_said(tmp_path: Path) -> None:
    command = load_run.locust_command(_args(tmp_path, "--errors-only", "--seed-users", "500"), "http://127.0.0.1:9")

    assert "--slo-errors-only" in command
    assert command[command.index("--seeded-users") + 1] == "500"


def test_a_target_that_is_not_a_url_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        # `make run`'s HOST (a bind address) is no target: only a URL is.
        load_run.main(["--host", "0.0.0.0", "--reports", str(tmp_path)])  # noqa: S104

    assert exit_info.value.code == 2
    assert "--host must be an http(s) URL" in capsys.readouterr().err


def test_a_remote_target_needs_an_admin_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("CHARTER_LOAD_ADMIN_EMAIL", raising=False)
    monkeypatch.setenv("CHARTER_LOAD_ADMIN_PASSWORD", "correct horse battery staple quartz")

    with pytest.raises(SystemExit) as exit_info:
        load_run.main(["--host", "http://127.0.0.1:9", "--reports", str(tmp_path)])

    assert exit_info.value.code == 2
    assert "CHARTER_LOAD_ADMIN_EMAIL and CHARTER_LOAD_ADMIN_PASSWORD" in capsys.readouterr().err


def test_seeding_a_remote_target_needs_its_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHARTER_LOAD_ADMIN_EMAIL", "admin@example.com")
    monkeypatch.setenv("CHARTER_LOAD_ADMIN_PASSWORD", "correct horse battery staple quartz")

    with pytest.raises(SystemExit) as exit_info:
        load_run.main(["--host", "http://127.0.0.1:9", "--seed-users", "10", "--reports", str(tmp_path)])

    assert exit_info.value.code == 2
    assert "--seed-database-url" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())  # refused before anything was written


def test_a_worker_without_a_port_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        load_run.main(["--worker", "10.0.0.5"])

    assert exit_info.value.code == 2
    assert "HOST:PORT" in capsys.readouterr().err
