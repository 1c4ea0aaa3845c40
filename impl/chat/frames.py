"""Frames: client text in, generated models out; server models in, JSON text out. Nothing unvalidated crosses."""

from __future__ import annotations

import uuid

from pydantic import ValidationError

from generated.messages import (
    ChatMessageEventData,
    ClientMessage,
    ErrorCode,
    ErrorMessage,
    JoinedMessage,
    JoinMessage,
    LeaveMessage,
    LeftMessage,
    PingMessage,
    PongMessage,
    RoomMessage,
    SayMessage,
    ServerMessage,
    WelcomeMessage,
)

ClientCommand = JoinMessage | LeaveMessage | SayMessage | PingMessage
ServerFrame = WelcomeMessage | JoinedMessage | LeftMessage | RoomMessage | PongMessage | ErrorMessage


class InvalidFrameError(ValueError):
    """Not JSON, or not one of the client messages."""


def parse_client_frame(text: str) -> ClientCommand:
    try:
        return ClientMessage.model_validate_json(text).root
    except ValidationError as exc:
        # The first problem is enough for a client to fix its message; the full list could be long.
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(part) for part in first["loc"]) or "message"
        raise InvalidFrameError(f"{where}: {first['msg']}") from None


def render(message: ServerFrame) -> str:
    """The JSON text of a server message, checked once more as a ``ServerMessage`` (the contract's union)."""
    return ServerMessage.model_validate(message).model_dump_json()


def error(code: ErrorCode, detail: str) -> ErrorMessage:
    return ErrorMessage(code=code, detail=detail)


def welcome(user_id: uuid.UUID) -> WelcomeMessage:
    return WelcomeMessage(user_id=user_id, rooms=[])


def room_message(data: ChatMessageEventData) -> RoomMessage:
    return RoomMessage(
        room=data.room, message_id=data.message_id, sender_id=data.sender_id, text=data.text, sent_at=data.sent_at
    )
