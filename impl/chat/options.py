"""The chat's limits and policies, from the settings (the router builder takes them, not the settings)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from impl.platform.cors import OPEN_ENVIRONMENTS
from impl.platform.rate_limit import parse_rate
from impl.platform.settings import Settings

SUBPROTOCOL = "charter.chat.v1"
# Enough for any real use; bounds the work a fan-out costs per connection.
MAX_ROOMS = 20
# A client this broken is better disconnected than answered forever.
MAX_INVALID_IN_A_ROW = 5
WILDCARD = "*"


@dataclass(frozen=True, kw_only=True)
class ChatOptions:
    max_message_bytes: int
    rate_amount: int
    rate_seconds: float
    allowed_origins: frozenset[str]
    any_origin: bool
    queue_size: int
    # How often an open connection checks that its caller may still chat (see ChatSession._watch).
    recheck_seconds: float = 1.0
    max_rooms: int = MAX_ROOMS
    max_invalid_in_a_row: int = MAX_INVALID_IN_A_ROW

    @classmethod
    def from_settings(cls, settings: Settings) -> ChatOptions:
        # The service's one rate notation (``"20/10"``: messages per seconds; limits' ``"20/minute"`` too).
        amount, seconds = parse_rate(settings.ws_rate_limit)
        return cls(
            max_message_bytes=settings.ws_max_message_bytes,
            rate_amount=amount,
            rate_seconds=float(seconds),
            allowed_origins=frozenset(o.strip() for o in settings.cors_allow_origins if o.strip()),
            any_origin=origins_are_open(app_env=settings.app_env, allow_origins=settings.cors_allow_origins),
            queue_size=settings.event_queue_size,
            recheck_seconds=settings.channel_recheck_seconds,
        )


def origins_are_open(*, app_env: str, allow_origins: Collection[str]) -> bool:
    """As for CORS: any origin with the ``*`` wildcard, or in dev, test and mock when no allow-list is configured."""
    origins = {origin.strip() for origin in allow_origins if origin.strip()}
    return WILDCARD in origins or (not origins and app_env in OPEN_ENVIRONMENTS)
