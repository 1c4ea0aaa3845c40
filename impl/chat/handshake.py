"""The handshake: which token a client presents, and whether its Origin may open a chat socket at all.

Browsers cannot set headers on a WebSocket handshake, so they offer the token as a subprotocol
(``bearer.<token>``) beside ``charter.chat.v1``; other clients may send ``Authorization: Bearer``. Never a query
parameter: URLs end up in access logs.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import Headers

from impl.chat.options import SUBPROTOCOL, ChatOptions

TOKEN_SUBPROTOCOL_PREFIX = "bearer."  # noqa: S105  # nosec B105


def presented_token(*, subprotocols: Sequence[str], headers: Headers) -> str | None:
    for offered in subprotocols:
        if offered.startswith(TOKEN_SUBPROTOCOL_PREFIX):
            return offered.removeprefix(TOKEN_SUBPROTOCOL_PREFIX) or None
    scheme, _, token = headers.get("authorization", "").partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def selected_subprotocol(subprotocols: Sequence[str]) -> str | None:
    """``charter.chat.v1`` when offered; the token subprotocol is never echoed back."""
    return SUBPROTOCOL if SUBPROTOCOL in subprotocols else None


def origin_allowed(origin: str | None, options: ChatOptions) -> bool:
    """A browser's Origin must be allowed (cross-site WebSocket hijacking); no Origin is a non-browser client."""
    if origin is None:
        return True
    return options.any_origin or origin in options.allowed_origins
