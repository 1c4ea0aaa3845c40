"""Real server processes (``python -m impl``) for multi-process and memory tests, and a fresh PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scripts.live_service import ROOT, free_port, stop, wait_until_ready
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, admin_sql, fresh_database

__all__ = ["ServerProcess", "admin_sql", "fresh_database", "rss_bytes", "server_process"]


@dataclass(frozen=True)
class ServerProcess:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def server_process(*, data_dir: Path, database_url: str | None = None, **env: str) -> Iterator[ServerProcess]:
    """One ``python -m impl`` (one worker, the bootstrap admin); stopped with SIGTERM (killed if it hangs).

    Without ``database_url`` it keeps its own SQLite file in ``data_dir``.
    """
    port = free_port()
    variables = {
        **os.environ,
        "APP_ENV": "test",
        "PORT": str(port),
        "WORKERS": "1",
        "DATA_DIR": str(data_dir),
        **({"DATABASE_URL": database_url} if database_url is not None else {}),
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RATE_LIMIT_ENABLED": "false",
        "PASSWORD_HASH_MEMORY_KIB": "19456",
        "PASSWORD_HASH_ITERATIONS": "2",
        "PASSWORD_HASH_PARALLELISM": "1",
        **env,
    }
    data_dir.mkdir(parents=True, exist_ok=True)
    with (data_dir / "server.log").open("ab") as log:
        process = subprocess.Popen([sys.executable, "-m", "impl"], cwd=ROOT, env=variables, stdout=log, stderr=log)
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/readyz", process, timeout=30)
        yield ServerProcess(process=process, port=port)
    finally:
        stop(process)


def rss_bytes(pid: int) -> int:
    """The process's resident set size (VmRSS in /proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for process {pid}")
