"""Nothing acknowledged is lost: users written, the server killed with SIGKILL, restarted on the same SQLite file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from scripts.fuzz import ROOT, free_port, wait_until_ready


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "APP_ENV": "test", "DATA_DIR": str(data_dir), "PORT": str(port), "WORKERS": "1"}
    env.pop("DATABASE_URL", None)
    with log.open("ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "impl"], cwd=ROOT, env=env, stdout=out, stderr=out)
    wait_until_ready(f"http://127.0.0.1:{port}/readyz", server, timeout=30)
    return server


def _post(port: int, payload: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/users",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def _status(port: int, user_id: object) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/users/{user_id}", timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "server.log"
    server = _start(tmp_path, port, log)
    acknowledged = []
    try:
        for i in range(40):
            status, user = _post(port, {"email": f"durable{i}@example.com", "name": f"Durable {i}"})
            assert status == 201
            acknowledged.append(user["id"])
    finally:
        server.send_signal(signal.SIGKILL)  # no shutdown, no flush: only what was committed may survive
        server.wait(timeout=10)

    port = free_port()
    server = _start(tmp_path, port, log)
    try:
        missing = [user_id for user_id in acknowledged if _status(port, user_id) != 200]
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert missing == [], f"{len(missing)} acknowledged users lost after SIGKILL"
    assert (tmp_path / "charter.db").exists()
