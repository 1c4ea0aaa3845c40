"""A real uvicorn server on a loopback port, for tests that need a real socket (WebSocket, SSE, streaming, uploads).

The server runs the app in a background thread of the test process with its own event loop: clients (httpx,
websockets) talk to it over TCP exactly as they would to a deployed service, while the test can still reach the
app's state. ``stop()`` triggers uvicorn's graceful shutdown (what SIGTERM does), so shutdown behaviour is testable.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from fastapi import FastAPI


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class LiveServer:
    app: FastAPI
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop, for ``asyncio.run_coroutine_threadsafe`` from the test."""
        loop: asyncio.AbstractEventLoop | None = getattr(self.server, "loop", None)
        assert loop is not None, "the server has not started"
        return loop

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def stop(self, timeout: float = 15.0) -> None:
        """Graceful shutdown, as on SIGTERM: stop accepting, close connections, run the lifespan's shutdown."""
        self.server.should_exit = True
        self.thread.join(timeout)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(5)


class _DrainingServer(uvicorn.Server):
    """uvicorn, beginning the app's graceful shutdown first, as SIGTERM does in production.

    A server in a thread gets no signals; this mirrors impl.platform.shutdown.chain_signal_handlers, which makes
    SIGTERM begin ``app.state.shutdown`` before uvicorn closes the connections.
    """

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self._app = app
        self.loop: asyncio.AbstractEventLoop | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        graceful = getattr(self._app.state, "shutdown", None)
        if graceful is not None:
            await graceful.begin()
        await super().shutdown(sockets)


@contextmanager
def live_server(app: FastAPI, *, startup_timeout: float = 30.0, **config: object) -> Iterator[LiveServer]:
    """Serve ``app`` on a free loopback port until the block ends; ``config`` goes to ``uvicorn.Config``."""
    port = free_port()
    options: dict[str, object] = {"log_level": "warning", "lifespan": "on", "timeout_graceful_shutdown": 5}
    options.update(config)
    server = _DrainingServer(uvicorn.Config(app, host="127.0.0.1", port=port, **options), app)  # type: ignore[arg-type]
    # uvicorn installs signal handlers only in the main thread; this one is stopped through should_exit.
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + startup_timeout
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the live server failed to start (see the log above)")
        if time.monotonic() > deadline:
            server.should_exit = True
            raise TimeoutError(f"the live server did not start within {startup_timeout} s")
        time.sleep(0.02)
    running = LiveServer(app=app, port=port, server=server, thread=thread)
    try:
        yield running
    finally:
        running.stop()
