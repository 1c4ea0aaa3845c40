"""How a user is shown: the API's User model, its ETag and Last-Modified, and the snapshot the read cache holds."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime

from generated import models
from impl.platform.conditional import http_date
from impl.users.models import UserRecord


@dataclass(frozen=True, slots=True)
class UserSnapshot:
    """A user as read at one version: what a response needs, and what the read cache holds."""

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
