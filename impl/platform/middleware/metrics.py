"""Count and time every HTTP request by method, route template and status (see impl/platform/metrics.py).

The route label is the template the router matched (``/api/v1/users/{user_id}``), read from the scope after the
request has been routed, never the raw path: one series per operation, whatever ids clients send. A request no route
matched is ``<unmatched>``, and a method outside HTTP's own is ``OTHER``, so a scanner cannot mint new series.
"""

from __future__ import annotations

import time

from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.platform.metrics import Metrics

UNMATCHED = "<unmatched>"
OTHER_METHOD = "OTHER"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def route_template(scope: Scope, *, entry_root_path: str = "") -> str:
    """The matched route's path template, or ``<unmatched>``.

    The router leaves the matched route in the scope. A route inside a mount knows only its own part of the
    template; the mount's part is what the mount added to ``root_path`` (a mount's own template already has it).
    FastAPI's router records no route for a mounted app (the docs' static assets): ``<mount>/{path}`` then.
    """
    mounted = str(scope.get("root_path", "")).removeprefix(entry_root_path)
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        return f"{mounted}/{{path}}" if mounted else UNMATCHED
    if isinstance(route, Mount):
        mounted = mounted.removesuffix(route.path)
    return mounted + template


class MetricsMiddleware:
    """Pure ASGI; sits just inside the request-ID layer, so every answer (a 500, a 504, a 413) is counted."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.requests = metrics.http_requests
        self.duration = metrics.http_request_duration
        self.in_flight = metrics.http_in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # An application that fails before it answers is a 500 (Starlette's error layer, inside, has sent that).
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        entry_root_path = str(scope.get("root_path", ""))
        started = time.perf_counter()
        self.in_flight.inc()
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = time.perf_counter() - started
            self.in_flight.dec()
            method = scope["method"] if scope["method"] in KNOWN_METHODS else OTHER_METHOD
            route = route_template(scope, entry_root_path=entry_root_path)
            self.requests.labels(method, route, str(status)).inc()
            self.duration.labels(method, route).observe(elapsed)
