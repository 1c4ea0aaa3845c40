"""The data directory (SQLite files, uploads): created at start-up, and checked for writability by readiness."""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path


def ensure_data_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_probe_file(path: Path) -> None:
    # A real write (not os.access): a full disk or a read-only remount must count as down.
    with tempfile.NamedTemporaryFile(dir=path, prefix=".ready-", delete=True) as handle:
        handle.write(b"ok")
        handle.flush()
        os.fsync(handle.fileno())


def data_dir_check(path: Path) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        await asyncio.to_thread(_write_probe_file, path)  # file I/O stays off the event loop

    return check
