"""Copy the rate-limit headers a guard computed onto the response, whatever the handler answered.

The guard runs inside the route, before the handler; the handler may answer with a model, a Reply, a bare
Response or an error. Rather than thread headers through every one of those paths, the guard leaves them in the
request's scope state and this pure-ASGI layer adds them at ``http.response.start``.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

RATE_LIMIT_STATE = "rate_limit_headers"


class RateLimitHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_limits(message: Message) -> None:
            if message["type"] == "http.response.start":
                state = scope.get("state")
                limits = state.get(RATE_LIMIT_STATE) if isinstance(state, dict) else None
                if limits:
                    present = {name.lower() for name, _ in message.get("headers", ())}
                    extra = [
                        (name.lower().encode("latin-1"), value.encode("latin-1"))
                        for name, value in limits.items()
                        if name.lower().encode("latin-1") not in present
                    ]
                    message["headers"] = [*message.get("headers", ()), *extra]
            await send(message)

        await self.app(scope, receive, send_with_limits)
