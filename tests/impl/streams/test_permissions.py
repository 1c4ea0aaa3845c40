"""Who sees what on the SSE stream."""

from __future__ import annotations

import uuid

import pytest

from generated.api._support import Principal
from impl.platform.events import Event
from impl.streams.permissions import may_see

pytestmark = pytest.mark.unit

ME, SOMEONE = uuid.uuid4(), uuid.uuid4()


def principal(role: str, subject: uuid.UUID = ME) -> Principal:
    return Principal(subject=subject, role=role, token_id="t", family_id="f", expires_at=0)


def user_event(type_: str, about: uuid.UUID) -> Event:
    if type_ == "user.deleted":
        return Event(type=type_, data={"user_id": str(about)})
    return Event(type=type_, data={"user": {"id": str(about), "email": "x@example.com"}})


def uploaded(owner: uuid.UUID) -> Event:
    return Event(type="file.uploaded", data={"file": {"id": str(uuid.uuid4()), "owner_id": str(owner)}})


@pytest.mark.parametrize("type_", ["user.created", "user.updated", "user.deleted"])
@pytest.mark.parametrize("role", ["admin", "moderator"])
def test_staff_see_every_user_event(type_: str, role: str) -> None:
    assert may_see(user_event(type_, SOMEONE), principal(role))


@pytest.mark.parametrize("type_", ["user.created", "user.updated", "user.deleted"])
def test_a_user_sees_user_events_about_themselves_only(type_: str) -> None:
    assert may_see(user_event(type_, ME), principal("user"))
    assert not may_see(user_event(type_, SOMEONE), principal("user"))


def test_a_file_upload_goes_to_its_owner_and_admins_only() -> None:
    assert may_see(uploaded(ME), principal("user"))
    assert not may_see(uploaded(SOMEONE), principal("user"))
    assert not may_see(uploaded(SOMEONE), principal("moderator"))
    assert may_see(uploaded(SOMEONE), principal("admin"))


@pytest.mark.parametrize("role", ["admin", "moderator", "user"])
def test_chat_messages_and_unknown_types_never_reach_sse(role: str) -> None:
    chat = Event(type="chat.message", data={"room": "r", "sender_id": str(ME), "text": "hi"})
    assert not may_see(chat, principal(role))
    assert not may_see(Event(type="user.created", data={"user": "not an object"}), principal("user"))
    assert not may_see(Event(type="something.else", data={"user_id": str(ME)}), principal(role))


def test_an_unrelated_type_with_a_user_prefix_lookalike_is_refused() -> None:
    assert not may_see(Event(type="users.created", data={"user": {"id": str(ME)}}), principal("user"))
