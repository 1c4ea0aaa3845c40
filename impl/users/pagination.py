"""Opaque cursors for keyset pagination: the last item's sort value and id, bound to the sort they came from."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Any

from impl.users.errors import InvalidRequestError
from impl.users.models import UserRecord


def encode_cursor(sort: str, record: UserRecord) -> str:
    value = getattr(record, sort.lstrip("-"))
    raw = json.dumps({"s": sort, "v": value.isoformat() if isinstance(value, datetime) else value, "i": str(record.id)})
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: str) -> tuple[Any, uuid.UUID]:
    """The (value, id) keyset position; 422 when the cursor is not one we issued for this sort."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict) or data.get("s") != sort:
            raise ValueError("the cursor belongs to another sort order")
        value = data["v"]
        if sort.lstrip("-") == "created_at":
            value = datetime.fromisoformat(value)
            if value.tzinfo is None:
                raise ValueError("naive instant")
        elif not isinstance(value, str):
            raise ValueError("bad value")
        return value, uuid.UUID(data["i"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidRequestError(
            "The cursor is not valid for this sort order; start again without it.",
            errors=[{"detail": "Not a cursor this service issued for this sort order.", "parameter": "cursor"}],
        ) from error
