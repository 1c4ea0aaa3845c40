"""A per-request time budget: a request that has not begun its answer within it is abandoned with 504.

Cancelling the request's task unwinds it the ordinary way: an open database transaction rolls back, so nothing of
an abandoned write is committed (a blocking call already handed to a thread finishes there, and its result is
dropped). Once the answer has begun (a stream, a download, an SSE connection), the budget no longer applies: the
response's own limits (token lifetime, `max_seconds`, client disconnects) govern it.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.platform.problems import problem


class RequestTimeoutMiddleware:
    def __init__(self, app: ASGIApp, *, timeout_seconds: float) -> None:
        self.app = app
        self.timeout_seconds = timeout_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False
        budget = asyncio.timeout(self.timeout_seconds)

        async def send_and_stop_the_clock(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                budget.reschedule(None)
            await send(message)

        try:
            async with budget:
                await self.app(scope, receive, send_and_stop_the_clock)
        except TimeoutError:
            if started or not budget.expired():
                raise  # not our deadline: a dependency's own timeout, which its handler already maps (or a bug)
            detail = f"The request took longer than {self.timeout_seconds:g} s and was abandoned."
            await problem(504, detail=detail, instance=scope["path"])(scope, receive, send)
