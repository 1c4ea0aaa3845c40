"""An SSE subscriber: holds `GET /api/v1/sse/stream` open for a bounded time (`max_seconds`) and reads it.

For a stream, latency means the time until the stream is open (status and headers received), which is what
Locust records with `stream=True` and what streamEvents' `x-slo` bounds; the body lasts `max_seconds` by design.
A stream counts as failed unless it is `text/event-stream`, ends cleanly, and delivered at least one event: it
stays open past SSE_TICK_SECONDS (default 10 s), so at least a `tick` always arrives from a healthy service.
"""

from __future__ import annotations

from locust import between, task

from load.journeys.calls import bearer
from load.journeys.member import Member

STREAM_SECONDS = 12


class EventSubscriber(Member):
    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        self.sign_up("events")

    @task
    def listen(self) -> None:
        if not self.signed_in():
            return
        headers = bearer(self.access_token, Accept="text/event-stream", **{"Accept-Encoding": "identity"})
        with self.client.get(
            f"/api/v1/sse/stream?max_seconds={STREAM_SECONDS}",
            name="streamEvents",
            stream=True,
            catch_response=True,
            headers=headers,
        ) as response:
            if response.status_code != 200:
                response.failure(f"{response.status_code} (expected 200)")
                return
            if not str(response.headers.get("Content-Type", "")).startswith("text/event-stream"):
                response.failure(f"Content-Type {response.headers.get('Content-Type')!r}")
                return
            events, pending = 0, ""
            try:
                for chunk in response.iter_content(chunk_size=4096):
                    pending += chunk.decode("utf-8", "replace") if isinstance(chunk, bytes) else chunk
                    *lines, pending = pending.split("\n")  # a line may straddle two chunks
                    events += sum(1 for line in lines if line.startswith("event:"))
            except Exception as error:  # noqa: BLE001 - any broken stream (socket, parser) is this request's failure
                response.failure(f"stream broke: {type(error).__name__}")
                return
            if events == 0:
                response.failure(f"no event within {STREAM_SECONDS} s")
            else:
                response.success()
