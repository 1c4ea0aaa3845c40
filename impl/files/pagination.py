"""Opaque cursors for "my files, newest first": the last item's (created_at, id) keyset position."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from impl.files.errors import InvalidRequestError
from impl.files.models import FileRecord


def encode_cursor(record: FileRecord) -> str:
    raw = json.dumps({"c": record.created_at.isoformat(), "i": str(record.id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The keyset position; 422 when the cursor is not one this service issued."""
    try:
        data = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(data, dict):
            raise ValueError("not an object")
        created_at = datetime.fromisoformat(data["c"])
        if created_at.tzinfo is None:
            raise ValueError("naive instant")
        return created_at, uuid.UUID(data["i"])
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise InvalidRequestError(
            "The cursor is not valid; start again without it.",
            errors=[{"detail": "Not a cursor this service issued.", "parameter": "cursor"}],
        ) from error
