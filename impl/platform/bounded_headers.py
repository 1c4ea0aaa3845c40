"""uvicorn's httptools protocol with a cap on header bytes (431) and a deadline for receiving them.

uvicorn offers both only for h11 (``h11_max_incomplete_event_size``), and httptools (llhttp) keeps no header limit
of its own: Node enforces one around llhttp, httptools does not. So a client could send megabytes of headers, or
trickle them a byte at a time and keep the connection for as long as it likes. An ASGI middleware cannot help: it
sees ``scope["headers"]`` only after every byte has been received and parsed, so it could refuse the request but
not spare the memory or the time. This protocol counts the bytes as they arrive, stops at the cap with a 431
problem+json (RFC 6585 section 5) and closes the connection, and closes a connection whose request head is not
complete within the deadline (as nginx's ``client_header_timeout`` does, without an answer: the client is not
reading one). The proxy in front (deploy/) applies the same limits first; this is the last line.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from impl.platform.settings import get_settings

# After SIGTERM, how long a connection accepted just before it has to send its request head.
DRAIN_HEAD_SECONDS = 1.0


class BoundedHeadersProtocol(HttpToolsProtocol):
    """Pass as uvicorn's ``http``. Its limits come from the settings (MAX_HEADER_BYTES, HEADER_TIMEOUT_SECONDS): each
    worker process builds its own protocols from the environment, the way it builds its app."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        settings = get_settings()
        self.max_header_bytes = settings.max_header_bytes
        self.header_timeout_seconds = settings.header_timeout_seconds
        self._head_bytes = 0  # of the request head being received; reset when one begins
        self._awaiting_head = True  # a new connection owes its first request head
        self._head_deadline: asyncio.TimerHandle | None = None
        self._draining = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if not self._awaiting_head or self.transport.is_closing():
            return
        # The whole chunk counts, even when it also ends the previous message: an over-estimate of one read at most.
        self._head_bytes += len(data)
        if self._head_bytes > self.max_header_bytes:
            self._refuse_head()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._head_bytes = 0
        self._arm_head_deadline()

    def on_url(self, url: bytes) -> None:
        if self._awaiting_head and len(self.url) + len(url) <= self.max_header_bytes:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Exact count of what is kept; past the cap nothing more is kept, whatever the chunks looked like.
        self._head_bytes += len(name) + len(value) + 4
        if self._head_bytes <= self.max_header_bytes:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm_head_deadline()
        self._awaiting_head = False
        if self._head_bytes > self.max_header_bytes:
            self._refuse_head()
            return
        super().on_headers_complete()
        if self._draining and self.cycle is not None:
            self.cycle.keep_alive = False

    def shutdown(self) -> None:
        if not self._awaiting_head:
            super().shutdown()  # idle between requests, or answering one (uvicorn lets it finish)
            return
        # Accepted, and its request head not (all) read yet: it is on its way, and closing now would drop the
        # connection without an answer. It gets a short while to arrive, is answered, and the connection closes.
        self._draining = True
        self._disarm_head_deadline()
        self._head_deadline = self.loop.call_later(
            min(self.header_timeout_seconds, DRAIN_HEAD_SECONDS), self._head_too_slow
        )

    def on_body(self, body: bytes) -> None:
        if self.cycle is not None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self.cycle is not None:
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # Between requests uvicorn's keep-alive timeout governs; the next head's deadline starts with its first byte.
        self._awaiting_head = False

    def _arm_head_deadline(self) -> None:
        if self._head_deadline is None:
            self._head_deadline = self.loop.call_later(self.header_timeout_seconds, self._head_too_slow)

    def _disarm_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self._awaiting_head and not self.transport.is_closing():
            self.transport.close()

    def _refuse_head(self) -> None:
        self._disarm_head_deadline()
        self._awaiting_head = False
        request_id = str(uuid.uuid4())
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Request Header Fields Too Large",
                "status": 431,
                "detail": f"The request's headers exceed the limit of {self.max_header_bytes} bytes.",
                "instance": "/",
            },
            separators=(",", ":"),
        ).encode()
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head.extend(name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers)
        head.append(b"content-type: application/problem+json\r\n")
        head.append(b"content-length: " + str(len(body)).encode() + b"\r\n")
        head.append(b"x-request-id: " + request_id.encode() + b"\r\n")
        head.append(b"connection: close\r\n\r\n")
        self.transport.write(b"".join(head) + body)
        self.transport.close()
