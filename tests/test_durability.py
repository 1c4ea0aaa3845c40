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

from scripts.live_service import ROOT, free_port, wait_until_ready
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer


def _start(data_dir: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "DATA_DIR": str(data_dir),
        "PORT": str(port),
        "WORKERS": "1",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    env.pop("DATABASE_URL", None)
    with log.open("ab") as out:
        server = subprocess.Popen([sys.executable, "-m", "impl"], cwd=ROOT, env=env, stdout=out, stderr=out)
    wait_until_ready(f"http://127.0.0.1:{port}/readyz", server, timeout=30)
    return server


def _token(port: int) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        data=json.dumps({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        token: str = json.loads(response.read())["access_token"]
    return token


def _post(port: int, token: str, payload: dict[str, object]) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/users",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", **bearer(token)},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status, json.loads(response.read())


def _status(port: int, token: str, user_id: object) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/users/{user_id}", headers=bearer(token))
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.slow
def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    port, log = free_port(), tmp_path / "server.log"
    server = _start(tmp_path, port, log)
    acknowledged = []
    try:
        token = _token(port)
        for i in range(40):
            status, user = _post(port, token, {"email": f"durable{i}@example.com", "name": f"Durable {i}"})
            assert status == 201
            acknowledged.append(user["id"])
    finally:
        server.send_signal(signal.SIGKILL)  # no shutdown, no flush: only what was committed may survive
        server.wait(timeout=10)

    port = free_port()
    server = _start(tmp_path, port, log)
    try:
        token = _token(port)
        missing = [user_id for user_id in acknowledged if _status(port, token, user_id) != 200]
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert missing == [], f"{len(missing)} acknowledged users lost after SIGKILL"
    assert (tmp_path / "charter.db").exists()
