"""The server bounds request heads: too many header bytes get 431, a head trickled too slowly loses its connection.

A real ``python -m impl`` on a socket: the limits live in the HTTP protocol, below any ASGI code, so only raw bytes
on a real connection can show them.
"""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.server_processes import ServerProcess, server_process

MAX_HEADER_BYTES = 16_384
HEADER_TIMEOUT_SECONDS = 1.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir: Path = tmp_path_factory.mktemp("bounded-headers")
    with server_process(
        data_dir=data_dir,
        MAX_HEADER_BYTES=str(MAX_HEADER_BYTES),
        HEADER_TIMEOUT_SECONDS=str(HEADER_TIMEOUT_SECONDS),
    ) as running:
        yield running


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(10)
    return sock


def _head(*, extra_bytes: int = 0) -> bytes:
    """A GET /health head with about ``extra_bytes`` of extra headers, in lines of 4 KiB."""
    lines = [b"GET /health HTTP/1.1", b"Host: charter.test"]
    index = 0
    while extra_bytes > 0:
        size = min(4096, extra_bytes)
        lines.append(b"X-Filler-%d: " % index + b"a" * size)
        extra_bytes -= size
        index += 1
    return b"\r\n".join(lines) + b"\r\n\r\n"


def _read_answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (or the answer is complete)."""
    received = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return received
        if not chunk:
            return received
        received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:") and len(body) >= int(line.split(b":")[1]):
                return received


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def test_a_head_within_the_limit_is_served(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(_head(extra_bytes=MAX_HEADER_BYTES - 1024))
        assert _status(_read_answer(sock)) == 200


@pytest.mark.parametrize("megabytes", [4, 8])
def test_megabytes_of_headers_are_refused_before_they_are_all_read(server: ServerProcess, megabytes: int) -> None:
    # Sent in pieces, as a client would: the server answers 431 and closes as soon as the cap is passed, so the
    # client either reads that answer or finds the connection closed long before its megabytes are out.
    head = _head(extra_bytes=megabytes * 1024 * 1024)
    sent = 0
    with _connect(server) as sock:
        try:
            while sent < len(head):
                sent += sock.send(head[sent : sent + 65536])
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = _read_answer(sock)
    assert sent < len(head) or _status(answer) == 431
    if answer:
        assert _status(answer) == 431
        head_part, _, body = answer.partition(b"\r\n\r\n")
        assert b"content-type: application/problem+json" in head_part.lower()
        assert b"x-request-id: " in head_part.lower()
        assert json.loads(body)["status"] == 431


def test_one_huge_header_line_is_refused(server: ServerProcess) -> None:
    head = b"GET /health HTTP/1.1\r\nHost: charter.test\r\nX-Huge: " + b"a" * (MAX_HEADER_BYTES * 4) + b"\r\n\r\n"
    with _connect(server) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(head)
        answer = _read_answer(sock)
    assert answer == b"" or _status(answer) == 431


def test_the_service_still_serves_after_refusing_a_head(server: ServerProcess) -> None:
    with _connect(server) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(_head(extra_bytes=MAX_HEADER_BYTES * 2))
        _read_answer(sock)
    with _connect(server) as sock:
        sock.sendall(_head())
        assert _status(_read_answer(sock)) == 200


def test_a_client_trickling_its_headers_is_cut_off_within_the_deadline(server: ServerProcess) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: charter.test\r\n")
        started = time.monotonic()
        cut_off_after: float | None = None
        while time.monotonic() - started < HEADER_TIMEOUT_SECONDS * 6:
            try:
                sock.sendall(b"X-Slow: a\r\n")
            except (BrokenPipeError, ConnectionResetError):
                cut_off_after = time.monotonic() - started
                break
            time.sleep(0.1)
    assert cut_off_after is not None, "the connection was kept while the headers trickled in"
    assert cut_off_after < HEADER_TIMEOUT_SECONDS + 1.5


def test_a_silent_connection_is_closed_within_the_deadline(server: ServerProcess) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        assert sock.recv(1) == b""
        assert time.monotonic() - started < HEADER_TIMEOUT_SECONDS + 1.5


def test_a_kept_alive_connection_serves_requests_spread_over_longer_than_the_deadline(server: ServerProcess) -> None:
    # The deadline is per head, not per connection: each request that sends its head in time is served.
    with _connect(server) as sock:
        for _ in range(3):
            sock.sendall(_head())
            assert _status(_read_answer(sock)) == 200
            time.sleep(HEADER_TIMEOUT_SECONDS * 0.6)
