"""How a user is shown: the API's User model, its ETag and Last-Modified, and the snapshot the read cache holds."""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from generated import models
from generated.api._support import content_length
from impl.platform.conditional import http_date
from impl.users.models import UserRecord


@dataclass(frozen=True)
class UserSnapshot:
    """A user as read at one version: what a response needs, and what the read cache holds.

    Its answer (the User model, the ETag and Last-Modified) is worked out once per snapshot: the read cache hands
    back the same snapshot while the stored entry is unchanged (``keep_decoded``), so a user read many times is
    shown from what was built the first time. (No ``slots``: ``cached_property`` keeps its values in the instance's
    ``__dict__``, which the codec, equality and hashing all ignore, as they see fields only.)
    """

    id: uuid.UUID
    email: str
    name: str
    role: str
    active: bool
    created_at: datetime
    updated_at: datetime
    version: int

    @classmethod
    def of(cls, record: UserRecord) -> UserSnapshot:
        return cls(
            id=record.id,
            email=record.email,
            name=record.name,
            role=record.role,
            active=record.active,
            created_at=record.created_at,
            updated_at=record.updated_at,
            version=record.version,
        )

    @functools.cached_property
    def model(self) -> models.User:
        """What the API shows (built once; never modified: FastAPI only serialises it)."""
        return view(self)

    @functools.cached_property
    def headers(self) -> Mapping[str, str]:
        """Its ETag and Last-Modified (read-only)."""
        return MappingProxyType(representation_headers(self))

    @functools.cached_property
    def head_headers(self) -> Mapping[str, str]:
        """A HEAD's: GET's headers and the length of GET's body (RFC 9110 §9.3.2)."""
        return MappingProxyType({**self.headers, "Content-Length": content_length(self.model)})


def etag(record: UserRecord | UserSnapshot) -> str:
    digest = hashlib.sha256(f"{record.id}:{record.version}".encode()).hexdigest()[:16]
    return f'"{digest}"'


def representation_headers(record: UserRecord | UserSnapshot) -> dict[str, str]:
    return {"ETag": etag(record), "Last-Modified": http_date(record.updated_at)}


def view(record: UserRecord | UserSnapshot) -> models.User:
    return models.User(
        id=record.id,
        email=record.email,
        name=record.name,
        role=models.Role(record.role),
        active=record.active,
        created_at=record.created_at,
        updated_at=record.updated_at,
    )
