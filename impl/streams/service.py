"""The `events` tag's handler (generated.api.events.EventsApi): the Server-Sent Events stream."""

from __future__ import annotations

from generated.api._support import Principal
from impl.platform.events import EventBus
from impl.platform.streaming_response import ClosingStreamingResponse
from impl.streams.hub import StreamHub
from impl.streams.stream import EventStream, StillAllowed, StreamTiming

HEADERS = {
    # The usual SSE no-cache, and no-store as on every authenticated answer (our own value wins over the security
    # headers' default, so both are named here): the stream is personal and never to be kept.
    "Cache-Control": "no-cache, no-store",
    # nginx would otherwise buffer the stream and deliver events in bursts.
    "X-Accel-Buffering": "no",
}


class EventsService:
    def __init__(
        self, *, bus: EventBus, hub: StreamHub, timing: StreamTiming, queue_size: int, still_allowed: StillAllowed
    ) -> None:
        self._bus = bus
        self._still_allowed = still_allowed
        self._hub = hub
        self._timing = timing
        self._queue_size = queue_size

    async def stream_events(
        self, *, last_event_id: str | None, max_seconds: int | None, principal: Principal
    ) -> ClosingStreamingResponse:
        stream = EventStream(
            bus=self._bus,
            hub=self._hub,
            principal=principal,
            last_event_id=last_event_id,
            max_seconds=max_seconds,
            timing=self._timing,
            queue_size=self._queue_size,
            still_allowed=self._still_allowed,
        )
        return ClosingStreamingResponse(stream.frames(), media_type="text/event-stream", headers=HEADERS)
