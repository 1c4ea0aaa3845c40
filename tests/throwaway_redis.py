"""A throw-away redis-server of the test's own, for fault tests that kill Redis and bring it back.

Never the shared server on 6379: other tests (and other test processes) rely on that one staying up. Each server
listens on a free loopback port, keeps nothing on disk, and is killed (SIGKILL, like a crash) when the block ends.
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.live_server import free_port

START_TIMEOUT_SECONDS = 10


class ThrowawayRedis:
    """One port, and whichever redis-server currently serves it. ``kill`` and ``restart`` block: from async code,
    call them through ``asyncio.to_thread``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._servers: list[subprocess.Popen[bytes]] = []

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start a server on the port and return once it accepts connections."""
        server = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._servers.append(server)
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def kill(self) -> None:
        """SIGKILL every server started on the port (a crash: no shutdown, no goodbye to clients)."""
        for server in self._servers:
            if server.poll() is None:
                server.kill()
            server.wait()

    def restart(self) -> None:
        """Kill the server if it still runs and start a new, empty one on the same port."""
        self.kill()
        self.start()


@contextmanager
def throwaway_redis() -> Iterator[ThrowawayRedis]:
    """A running throw-away redis-server for the block; whatever runs on its port is killed at the end."""
    redis = ThrowawayRedis(free_port())
    try:
        redis.start()
        yield redis
    finally:
        redis.kill()
