"""Who may see which event on the SSE stream: the one rule, in one place."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from generated.api._support import Principal
from impl.platform.events import Event

# What the stream subscribes to at all; chat.message (and anything new) never reaches SSE.
STREAM_TYPES = ("user.*", "file.uploaded")
STAFF = frozenset({"admin", "moderator"})


def _same_id(value: object, subject: uuid.UUID) -> bool:
    try:
        return uuid.UUID(str(value)) == subject
    except ValueError:
        return False


def _member(data: Mapping[str, Any], *path: str) -> object:
    value: object = data
    for name in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def may_see(event: Event, principal: Principal) -> bool:
    """Admins and moderators see every user.* event, a user only those about themselves; file.uploaded goes to the
    file's owner (and admins); nothing else is ever sent."""
    if event.type.startswith("user."):
        if principal.role in STAFF:
            return True
        about = _member(event.data, "user_id") if event.type == "user.deleted" else _member(event.data, "user", "id")
        return _same_id(about, principal.subject)
    if event.type == "file.uploaded":
        return principal.role == "admin" or _same_id(_member(event.data, "file", "owner_id"), principal.subject)
    return False
