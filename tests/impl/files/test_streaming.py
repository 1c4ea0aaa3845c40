"""Uploads stream: limits apply while the body arrives, and nothing of a refused or abandoned upload stays on disk."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from collections.abc import Iterator

import httpx2 as httpx

from tests.conftest import bearer
from tests.impl.files.conftest import FILES, PNG, UPLOAD_LIMIT, stored, uploaded
from tests.live_server import LiveServer

BOUNDARY = "streaming-test-boundary"
HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n'
    "Content-Type: text/plain\r\n\r\n"
).encode()
TAIL = f"\r\n--{BOUNDARY}--\r\n".encode()
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


def wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(condition) or not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not hold in time")
        time.sleep(0.02)


def test_a_file_within_the_limit_streams_in_without_a_content_length(server: LiveServer, token: str) -> None:
    content = b"a" * UPLOAD_LIMIT

    def body() -> Iterator[bytes]:
        yield HEAD
        for start in range(0, len(content), 16 * 1024):
            yield content[start : start + 16 * 1024]
        yield TAIL

    headers = {**bearer(token), "Content-Type": CONTENT_TYPE}
    response = httpx.post(f"{server.url}{FILES}", headers=headers, content=body(), timeout=30)
    assert response.status_code == 201, response.text
    assert response.json()["sha256"] == hashlib.sha256(content).hexdigest()


def test_a_file_over_the_limit_is_refused_while_streaming_and_nothing_is_kept(server: LiveServer, token: str) -> None:
    before = stored(server)
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        yield HEAD
        while sent < UPLOAD_LIMIT * 4:  # no Content-Length: only counting can tell the size
            sent += 16 * 1024
            yield b"b" * (16 * 1024)
        yield TAIL

    headers = {**bearer(token), "Content-Type": CONTENT_TYPE}
    response = httpx.post(f"{server.url}{FILES}", headers=headers, content=body(), timeout=30)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    # Whichever counter trips first (the file's, or the request's = file + multipart framing) says so.
    assert response.json()["title"] == "Content Too Large"
    wait_until(lambda: stored(server) == before)


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(server: LiveServer, token: str) -> None:
    # A raw socket: the headers announce 100 MB and no byte of body follows; the answer comes anyway.
    request = (
        f"POST {FILES} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: 100000000\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request)
        answer = connection.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413 ")
    assert b"application/problem+json" in answer


def test_a_client_vanishing_mid_upload_leaves_nothing_behind(server: LiveServer, token: str) -> None:
    before = stored(server)
    request = (
        f"POST {FILES} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {CONTENT_TYPE}\r\nContent-Length: {UPLOAD_LIMIT}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as connection:
        connection.sendall(request + HEAD + b"c" * 100_000)
        # The server is receiving: its temporary file appears; then the client goes away mid-body.
        wait_until(lambda: len(stored(server)) > len(before))
    wait_until(lambda: stored(server) == before)
    response = httpx.get(f"{server.url}{FILES}", headers=bearer(token))
    assert response.status_code == 200  # the server carries on


def test_concurrent_uploads_each_get_their_own_file(server: LiveServer, token: str) -> None:
    contents = [PNG + os.urandom(50_000 + n) for n in range(8)]

    async def upload_all() -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=server.url, headers=bearer(token), timeout=30) as client:
            return await asyncio.gather(
                *(client.post(FILES, files={"file": ("same-name.png", content)}) for content in contents)
            )

    responses = asyncio.run(upload_all())
    assert [response.status_code for response in responses] == [201] * len(contents)
    ids = {response.json()["id"] for response in responses}
    assert len(ids) == len(contents)
    for response, content in zip(responses, contents, strict=True):
        download = httpx.get(f"{server.url}{FILES}/{response.json()['id']}/content", headers=bearer(token))
        assert download.content == content


def test_an_upload_uses_the_upload_limit_not_the_json_body_limit(server: LiveServer, token: str) -> None:
    # MAX_BODY_BYTES (1 MiB by default) would cut a larger upload; here the file limit is what counts.
    settings = server.app.state.settings
    assert uploaded(server, token, b"d" * UPLOAD_LIMIT)["size"] == UPLOAD_LIMIT
    assert settings.max_upload_bytes == UPLOAD_LIMIT
