"""Jobs for the pool tests. Top-level functions of an importable module: spawned workers import them by name."""

from __future__ import annotations

import os
import time
from pathlib import Path


def exit_abruptly(code: int) -> int:
    """Kills the worker process that runs it, the way an out-of-memory kill would: no exception, no clean-up."""
    os._exit(code)


def run_until_released(directory: str) -> int:
    """Marks ``directory/started``, then holds its worker until the test creates ``directory/release``."""
    Path(directory, "started").touch()
    deadline = time.monotonic() + 30  # never hang the suite if the test fails before releasing it
    while not Path(directory, "release").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return 0
