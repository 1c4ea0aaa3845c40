"""`make load`'s runner: bounded, reported Locust runs; a remote target needs an admin and is never started here."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from scripts import load_run


def _args(tmp_path: Path) -> argparse.Namespace:
    return argparse.Namespace(users=7, spawn_rate=2.0, run_time="15s", name="smoke", reports=tmp_path)


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
    assert command[command.index("--locustfile") + 1].endswith("load/locustfile.py")


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
