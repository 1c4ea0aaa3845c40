"""A StreamingResponse that closes its generator however the response ends (SSE, exports, downloads)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from typing import Any

from starlette.responses import StreamingResponse
from starlette.types import Send


class ClosingStreamingResponse(StreamingResponse):
    """When the client disconnects, Starlette cancels the send in progress; a generator suspended at ``yield`` would
    only be finalised whenever the garbage collector gets to it. Closing it here runs its ``finally`` (releasing the
    bus subscription) at once."""

    def __init__(self, content: AsyncGenerator[bytes, None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self._generator = content

    async def stream_response(self, send: Send) -> None:
        async with aclosing(self._generator):
            await super().stream_response(send)
