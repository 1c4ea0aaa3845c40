"""The response that streams a stored file (or one byte range of it) from an already-open handle.

The handle is opened by the service before the response starts, so a file missing on disk is a clean 404, and a
file deleted meanwhile is still served whole (POSIX keeps an open file readable). Chunks are read in a worker
thread; a client that disconnects stops the transfer (uvicorn's ASGI 2.3 ``send`` would otherwise quietly drop
every remaining chunk while the file is still read to the end).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import BinaryIO

import anyio
from anyio import to_thread
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

logger = logging.getLogger("charter.files")
CHUNK_BYTES = 64 * 1024


class OpenFileResponse(Response):
    """``length`` bytes of ``handle`` from ``offset``; the handle is closed when the response ends, however it ends."""

    def __init__(
        self,
        handle: BinaryIO,
        *,
        offset: int,
        length: int,
        media_type: str,
        headers: Mapping[str, str],
        status_code: int = 200,
    ) -> None:
        self.handle = handle
        self.offset = offset
        self.length = length
        self.status_code = status_code
        self.media_type = media_type
        self.background = None
        self.init_headers({**headers, "Content-Length": str(length)})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            async with anyio.create_task_group() as group:

                async def stream() -> None:
                    await self._stream(send)
                    group.cancel_scope.cancel()

                group.start_soon(stream)
                while (await receive())["type"] != "http.disconnect":
                    continue
                group.cancel_scope.cancel()  # the client is gone: stop reading the file
        finally:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(self.handle.close)

    async def _stream(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await to_thread.run_sync(self.handle.seek, self.offset)
        remaining = self.length
        while remaining > 0:
            chunk = await to_thread.run_sync(self.handle.read, min(CHUNK_BYTES, remaining))
            if not chunk:
                # The length was promised in Content-Length: end the connection rather than send a short body.
                raise RuntimeError(f"stored file shorter than recorded ({remaining} bytes missing)")
            remaining -= len(chunk)
            await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
        if self.length == 0:
            await send({"type": "http.response.body", "body": b"", "more_body": False})
