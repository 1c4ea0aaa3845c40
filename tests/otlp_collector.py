"""A stand-in OTLP/HTTP collector on a loopback port: accepts every export and records its path and content type."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Collector:
    url: str
    exports: list[tuple[str, str]] = field(default_factory=list)


@contextmanager
def otlp_collector() -> Iterator[Collector]:
    exports: list[tuple[str, str]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            exports.append((self.path, self.headers.get("Content-Type", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Collector(url=f"http://127.0.0.1:{server.server_address[1]}", exports=exports)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
