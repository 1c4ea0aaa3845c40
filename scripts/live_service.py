"""Start a process that serves HTTP on a loopback port (the service, Prism), wait until it answers, stop it after.

Used by ``make fuzz``, ``make load`` and ``make test-ts`` (the benchmark pins its servers itself, load/wrk.py).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess  # nosec B404
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_ready(url: str, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with code {server.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:  # noqa: S310  # nosec B310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} was not ready within {timeout:g} s")


def tool_service_env(
    *, port: int, data_dir: str, admin_email: str, admin_password: str, rate_limits: bool = False
) -> dict[str, str]:
    """The environment of a throw-away service for a tool run (fuzz, load, the TypeScript journey): one worker on
    a loopback port, a fresh SQLite file in ``data_dir`` (never a database of the caller's), a run-only admin, and
    rate limits off unless asked for (fuzzing and load are one client calling everything; limits have their own
    tests)."""
    env = {**os.environ, "APP_ENV": "test", "HOST": "127.0.0.1", "PORT": str(port), "DATA_DIR": data_dir}
    env |= {"WORKERS": "1", "RATE_LIMIT_ENABLED": "true" if rate_limits else "false"}
    env |= {"ADMIN_EMAIL": admin_email, "ADMIN_PASSWORD": admin_password}
    env.pop("DATABASE_URL", None)
    return env


@contextmanager
def serving(
    command: Sequence[str], *, env: Mapping[str, str], log_path: Path, ready_url: str, timeout: float
) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``command`` (stdout and stderr to ``log_path``) until the block ends; ready when ``ready_url`` is 200.

    The process gets its own session, so stopping it also stops what it started (npx, node's workers): SIGTERM to
    its process group, then SIGKILL when it has not exited within 15 s.
    """
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603  # nosec B603
            list(command), cwd=ROOT, env=dict(env), stdout=log, stderr=log, start_new_session=True
        )
        try:
            wait_until_ready(ready_url, process, timeout)
            yield process
        finally:
            stop(process, group=True)


def stop(process: subprocess.Popen[bytes], *, timeout: float = 15.0, group: bool = False) -> None:
    """SIGTERM (to the process group with ``group``), then SIGKILL when it has not exited within ``timeout``."""
    if process.poll() is not None:
        return
    if group:
        os.killpg(process.pid, signal.SIGTERM)
    else:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        if group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()
