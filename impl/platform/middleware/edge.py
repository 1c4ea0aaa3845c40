"""The service's edge: what every HTTP exchange gets on its way in and out, in one pure-ASGI layer.

In: a request ID (the client's or a fresh one), the request's log context, and the clock of its time budget (a
request that has not begun its answer in time is abandoned with 504: request_timeout.py). Out, at
``http.response.start``: the ID echoed, the rate-limit headers the guard computed, the security headers (``Server``
taken off). After the answer has ended: one record of it, handed to the app's pipeline of answered requests
(impl/platform/middleware/answered.py: the way out, to the request metrics and the access line). Each concern
lives in its own module (request_id, request_timeout, rate_limit_headers, security_headers, answered); this layer
sequences them.

One layer, not five: a pure-ASGI layer costs a coroutine per request and one more per message it wraps. Five of
them were a third of a ``GET /health`` answer (``make bench`` and its profiles). The edge is outermost, outside
Starlette's error middleware, so a 500 is stamped, counted and logged like every other answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.platform.log_context import end_request_context, log_context
from impl.platform.middleware.answered import AnsweredRequest, AnsweredRequests
from impl.platform.middleware.rate_limit_headers import with_rate_limits
from impl.platform.middleware.request_id import HEADER as REQUEST_ID_HEADER
from impl.platform.middleware.request_id import TRACEPARENT, assign_request_id
from impl.platform.middleware.request_timeout import DeadlineWatch, RequestDeadlines
from impl.platform.middleware.security_headers import AUTHORIZATION, SecurityHeaders, secured


class EdgeMiddleware:
    """``answered`` None: no record of answered requests (nothing counted, no access line); ``deadlines`` None: no
    time budget. WebSocket and lifespan scopes pass through untouched (the chat logs and counts its own
    connections)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        security: SecurityHeaders,
        answered: AnsweredRequests | None = None,
        deadlines: RequestDeadlines | None = None,
    ) -> None:
        self.app = app
        self.security = security
        self.answered = answered
        self.metrics = answered.metrics if answered is not None else None  # for the level in flight
        self.deadlines = deadlines

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent_id = traceparent = None
        authenticated = False
        for name, value in scope["headers"]:  # one pass for all three; the first of each counts
            if name == REQUEST_ID_HEADER:
                if sent_id is None:
                    sent_id = value
            elif name == TRACEPARENT:
                if traceparent is None:
                    traceparent = value
            elif name == AUTHORIZATION:
                authenticated = True
        request_id, request_id_header = assign_request_id(scope, sent=sent_id, traceparent=traceparent)
        extra = self.security.for_request(scope)
        status: int | None = None
        sent = 0
        # The budget's clock starts now and stops when the answer begins (impl/platform/middleware/request_timeout.py).
        deadlines = self.deadlines
        watch: DeadlineWatch | None = None
        task: asyncio.Task[Any] | None = None
        if deadlines is not None:
            loop = asyncio.get_running_loop()
            task = asyncio.current_task(loop)
            if task is not None:
                watch = deadlines.watch_for(loop)
                watch.add(task, loop.time() + deadlines.timeout_seconds)

        # A plain function that hands back ``send``'s own awaitable: a coroutine of its own would only wrap it, one
        # more frame per message.
        def send_stamped(message: Message) -> Awaitable[None]:
            nonlocal status, sent
            kind = message["type"]
            if kind == "http.response.start":
                status = message["status"]
                if watch is not None and task is not None:
                    watch.discard(task)
                headers = secured(message.get("headers", ()), extra, authenticated=authenticated)
                headers.append((REQUEST_ID_HEADER, request_id_header))
                message["headers"] = with_rate_limits(scope, headers)
            elif kind == "http.response.body":
                sent += len(message.get("body", b""))
            return send(message)

        metrics = self.metrics
        entry_root_path: str = scope.get("root_path", "")
        failed = False
        started = time.perf_counter()
        if metrics is not None:
            metrics.started()
        try:
            await self.app(scope, receive, send_stamped)
        except asyncio.CancelledError:
            # Not the budget (the client went away, the server is stopping), or an answer already begun: as it is.
            if deadlines is None or watch is None or task is None or status is not None or not watch.took_expired(task):
                raise
            task.uncancel()
            await deadlines.answer(scope, receive, send_stamped)
        except Exception:
            failed = True  # (a cancellation, i.e. the client went away, is not a failure: no status then)
            raise
        finally:
            if watch is not None and task is not None:
                watch.forget(task)
            answered = self.answered
            if answered is not None:
                answered.add(
                    AnsweredRequest(
                        scope["method"],
                        scope.get("route"),
                        scope.get("root_path", ""),
                        entry_root_path,
                        status,
                        failed,
                        time.perf_counter() - started,
                        sent,
                        time.time(),
                        log_context(),  # the caller's user_id, bound by the guard, is in it by now
                        scope.get("client"),  # after the app ran: uvicorn's ProxyHeadersMiddleware rewrites it
                        request_id,
                    )
                )
            if metrics is not None:
                metrics.ended()
            end_request_context()
