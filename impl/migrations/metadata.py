"""Every table's metadata, for Alembic: importing each domain's models registers its tables on the shared Base."""

from __future__ import annotations

from impl.auth.models import AuthSessionRecord  # noqa: F401 - registers the table
from impl.files.models import FileRecord  # noqa: F401 - registers the table
from impl.platform.db.base import Base
from impl.platform.idempotency import IdempotencyRecord  # noqa: F401 - registers the table
from impl.users.models import UserRecord  # noqa: F401 - registers the table

target_metadata = Base.metadata
