"""Events: a dotted type, a JSON object of data, an id and a time; and their JSON wire form."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

# Types are dotted lower-case names ("user.created"); a subscription pattern is a type or a prefix ("user.*").
TYPE = re.compile(r"[a-z]+(\.[a-z_]+)+")
# Ids end up in SSE ``id:`` lines and logs: no whitespace or newlines, bounded.
_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_RFC3339_UTC = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|\+00:00)")
_MAX_TYPE_LENGTH = 128
_FIELDS = frozenset({"type", "data", "id", "occurred_at"})


class InvalidEventError(ValueError):
    """An event (or its JSON) breaks the rules: bad type, id or time, data that is not a JSON object."""


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _new_id() -> str:
    return uuid.uuid4().hex


def _json_default(value: object) -> object:
    # Any Mapping (an event's own read-only data included) encodes as an object; everything else is refused.
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON-serialisable")


def _encode(value: object) -> str:
    try:
        return json.dumps(value, default=_json_default, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidEventError(f"event data is not JSON-serialisable: {exc}") from exc


@dataclass(frozen=True, kw_only=True)
class Event:
    """Something that happened. ``data`` is a JSON object, copied on construction and read-only at the top level.

    The copy (a JSON round trip) makes the in-process bus deliver exactly what Redis would: a publisher that later
    mutates its dict changes nothing, and tuples arrive as lists in both backends. Subscribers share one event, so
    they must treat nested values as read-only too; :meth:`as_dict` gives a private copy.
    """

    type: str
    data: Mapping[str, Any] = field(default_factory=dict, hash=False)
    id: str = field(default_factory=_new_id)
    occurred_at: str = field(default_factory=_now)

    def __post_init__(self) -> None:
        if not (isinstance(self.type, str) and len(self.type) <= _MAX_TYPE_LENGTH and TYPE.fullmatch(self.type)):
            raise InvalidEventError(f"event type {self.type!r} is not a dotted lower-case name like 'user.created'")
        if not (isinstance(self.id, str) and _ID.fullmatch(self.id)):
            raise InvalidEventError("event id must be 1-128 characters of [A-Za-z0-9._:-]")
        if not (isinstance(self.occurred_at, str) and _RFC3339_UTC.fullmatch(self.occurred_at)):
            raise InvalidEventError("occurred_at must be an RFC 3339 UTC timestamp")
        try:
            datetime.fromisoformat(self.occurred_at)
        except ValueError as exc:  # e.g. month 13
            raise InvalidEventError("occurred_at must be an RFC 3339 UTC timestamp") from exc
        if not isinstance(self.data, Mapping):
            raise InvalidEventError("event data must be a JSON object")
        object.__setattr__(self, "data", MappingProxyType(json.loads(_encode(self.data))))

    def as_dict(self) -> dict[str, Any]:
        """A fresh, mutable, JSON-ready copy: the wire shape, for SSE and WebSocket payloads."""
        data: dict[str, Any] = json.loads(_encode(self.data))
        return {"type": self.type, "data": data, "id": self.id, "occurred_at": self.occurred_at}

    def to_json(self) -> bytes:
        return _encode(self.as_dict()).encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        """Decode :meth:`to_json`'s output; raises :class:`InvalidEventError` on anything else."""
        try:
            document = json.loads(raw)
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
            raise InvalidEventError("an event must be a JSON document") from exc
        if not isinstance(document, dict) or set(document) != _FIELDS:
            raise InvalidEventError(f"an event is a JSON object with exactly the members {sorted(_FIELDS)}")
        return cls(type=document["type"], data=document["data"], id=document["id"], occurred_at=document["occurred_at"])
