"""Start a process that serves HTTP on a loopback port (the service, Prism), wait until it answers, stop it after.

Used by ``make test-ts``; the port and readiness helpers are the fuzz runner's (scripts/fuzz.py).
"""

from __future__ import annotations

import os
import signal
import subprocess  # nosec B404
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from scripts.fuzz import wait_until_ready

ROOT = Path(__file__).resolve().parent.parent


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
            _stop(process)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
