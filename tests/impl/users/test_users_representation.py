"""A cached user snapshot shows itself once: its model and headers are built on first use and kept with it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from impl.platform.cache import PydanticCodec
from impl.users.representation import UserSnapshot, representation_headers, view

pytestmark = pytest.mark.unit


def _snapshot(version: int = 3) -> UserSnapshot:
    moment = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
    return UserSnapshot(
        id=uuid.UUID("0b0e7d4e-0000-4000-8000-000000000001"),
        email="ada@example.com",
        name="Ada",
        role="user",
        active=True,
        created_at=moment,
        updated_at=moment,
        version=version,
    )


def test_the_model_and_headers_are_built_once_and_are_what_view_and_representation_headers_give() -> None:
    snapshot = _snapshot()
    assert snapshot.model is snapshot.model
    assert snapshot.headers is snapshot.headers
    assert snapshot.model == view(snapshot)
    assert dict(snapshot.headers) == representation_headers(snapshot)
    with pytest.raises(TypeError):
        snapshot.headers["ETag"] = '"forged"'  # type: ignore[index]  # read-only: shared by every answer


def test_what_was_built_is_neither_stored_nor_compared() -> None:
    codec = PydanticCodec(UserSnapshot)
    snapshot = _snapshot()
    assert snapshot.headers
    encoded = codec.encode(snapshot)
    assert b"ETag" not in encoded
    assert b"model" not in encoded
    assert codec.decode(encoded) == snapshot
    assert _snapshot(version=4).headers["ETag"] != snapshot.headers["ETag"]
