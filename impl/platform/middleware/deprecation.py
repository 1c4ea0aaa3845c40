"""Announce deprecated operations on every response they give: ``Deprecation``, ``Sunset`` and their ``Link``s.

The spec marks an operation ``deprecated: true`` with ``x-deprecated-at`` and ``x-sunset`` (and optionally
``x-deprecation-link``, ``x-sunset-link``); the generator writes them into ``generated.api.deprecations`` by
operationId. Here they become header lines once, at start-up; per request there is one dictionary lookup on the
operation the router matched (which it leaves in the scope), errors of that operation included:

- ``Deprecation: @<unix seconds>`` — RFC 9745, a structured-field Date: since when the operation is deprecated;
- ``Sunset: <HTTP-date>`` — RFC 8594: when it stops answering;
- ``Link: <url>; rel="deprecation"`` and ``Link: <url>; rel="sunset"`` — where to read more, when the spec says.
"""

from __future__ import annotations

from collections.abc import Mapping
from email.utils import formatdate
from typing import Protocol

from starlette.types import ASGIApp, Message, Receive, Scope, Send

Header = tuple[bytes, bytes]
DEPRECATION = b"deprecation"
SUNSET = b"sunset"
LINK = b"link"


class Announcement(Protocol):
    """One deprecated operation's dates (Unix seconds) and links, as generated from the spec."""

    @property
    def deprecated_at(self) -> int: ...
    @property
    def sunset(self) -> int: ...
    @property
    def deprecation_link(self) -> str | None: ...
    @property
    def sunset_link(self) -> str | None: ...


def announcement_headers(announcement: Announcement) -> tuple[Header, ...]:
    """The header lines for one deprecated operation."""
    headers: list[Header] = [
        (DEPRECATION, f"@{announcement.deprecated_at}".encode("ascii")),
        (SUNSET, formatdate(announcement.sunset, usegmt=True).encode("ascii")),
    ]
    if announcement.deprecation_link is not None:
        headers.append((LINK, f'<{announcement.deprecation_link}>; rel="deprecation"'.encode()))
    if announcement.sunset_link is not None:
        headers.append((LINK, f'<{announcement.sunset_link}>; rel="sunset"'.encode()))
    return tuple(headers)


class DeprecationHeadersMiddleware:
    """Adds the announcement of the matched operation to its ``http.response.start``; other responses pass as
    they are. An operation's own ``Deprecation`` or ``Sunset`` header wins; its ``Link`` lines are kept beside
    these (Link is a list of links, one per line is fine)."""

    def __init__(self, app: ASGIApp, *, deprecations: Mapping[str, Announcement]) -> None:
        self.app = app
        self.headers = {operation_id: announcement_headers(item) for operation_id, item in deprecations.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_announcement(message: Message) -> None:
            if message["type"] == "http.response.start":
                # The router has matched by now and left the route (an APIRoute, with its operation_id) in the scope.
                extra = self.headers.get(getattr(scope.get("route"), "operation_id", None) or "")
                if extra:
                    own = {name.lower() for name, _ in message.get("headers", ())}
                    added = [(name, value) for name, value in extra if name == LINK or name not in own]
                    message = {**message, "headers": [*message.get("headers", ()), *added]}
            await send(message)

        await self.app(scope, receive, send_with_announcement)
