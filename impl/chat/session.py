"""One chat connection: read the client's frames, forward the bus's chat events for the rooms it joined.

Two tasks share the socket: the reader answers each client frame, the forwarder relays ``chat.message`` events
of joined rooms. Sends go through one lock, so frames never interleave and a close is the last thing sent.
Whichever task ends first (client gone, socket closed, bus closed at shutdown) ends the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from pydantic import ValidationError
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketDisconnect

from generated.api._support import Principal
from generated.messages import (
    ChatMessageEventData,
    ErrorCode,
    JoinedMessage,
    JoinMessage,
    LeaveMessage,
    LeftMessage,
    PingMessage,
    PongMessage,
    SayMessage,
)
from impl.chat import frames
from impl.chat.options import ChatOptions
from impl.chat.rate import SlidingWindow
from impl.platform.events import Event, EventBus, EventBusUnavailableError, Subscription
from impl.platform.problems import ProblemError

logger = logging.getLogger("charter.chat")

CHAT_EVENT = "chat.message"
POLICY_VIOLATION = 1008
MESSAGE_TOO_BIG = 1009
GOING_AWAY = 1001
INTERNAL_ERROR = 1011
# Whether the caller may still use a connection opened with this principal (the auth domain's check).
StillAllowed = Callable[[Principal], Awaitable[bool]]
# Failures of a socket whose peer is gone: Starlette and uvicorn report them in these ways.
_GONE = (WebSocketDisconnect, RuntimeError, OSError)


class ChatSession:
    def __init__(
        self,
        *,
        websocket: WebSocket,
        principal: Principal,
        bus: EventBus,
        options: ChatOptions,
        still_allowed: StillAllowed,
    ) -> None:
        self._websocket = websocket
        self._principal = principal
        self._still_allowed = still_allowed
        self._bus = bus
        self._options = options
        self._window = SlidingWindow(amount=options.rate_amount, seconds=options.rate_seconds)
        self._rooms: set[str] = set()
        self._send_lock = asyncio.Lock()
        self._closed = False
        self._refused_in_a_row = 0
        self._invalid_in_a_row = 0

    async def run(self, *, subprotocol: str | None) -> None:
        # Subscribed before the welcome: a client that joins right after it misses nothing said from then on.
        async with self._bus.subscribe(types=["chat.*"], queue_size=self._options.queue_size) as events:
            await self._websocket.accept(subprotocol=subprotocol)
            await self._send(frames.welcome(self._principal.subject))
            tasks = {
                asyncio.create_task(self._read()),
                asyncio.create_task(self._forward(events)),
                asyncio.create_task(self._watch()),
            }
            try:
                await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self, code: int, reason: str = "") -> None:
        """Send a close frame (once); the reader then sees the client's answer and the session ends."""
        async with self._send_lock:
            if self._closed:
                return
            self._closed = True
            with contextlib.suppress(*_GONE):
                await self._websocket.close(code=code, reason=reason)

    async def _watch(self) -> None:
        """Close the connection once its caller may no longer use it: logged out, its session ended (password
        change, another sign-out), deactivated, deleted, or given another role. The token was checked at the
        handshake; this keeps checking it, on whichever worker the change was made."""
        while not self._closed:
            await asyncio.sleep(self._options.recheck_seconds)
            try:
                allowed = await self._still_allowed(self._principal)
            except ProblemError:
                # The revocation store cannot say (Redis down): closed rather than trusted; the client may retry.
                await self.close(INTERNAL_ERROR, "access could not be checked")
                return
            if not allowed:
                await self.close(POLICY_VIOLATION, "access revoked")
                return

    async def _send(self, message: frames.ServerFrame) -> None:
        text = frames.render(message)
        async with self._send_lock:
            if self._closed:
                return
            try:
                await self._websocket.send_text(text)
            except _GONE:
                self._closed = True

    async def _read(self) -> None:
        while not self._closed:
            message = await self._websocket.receive()
            if message["type"] == "websocket.disconnect":
                self._closed = True
                return
            await self._on_frame(message)

    async def _on_frame(self, message: Message) -> None:
        text: str | None = message.get("text")
        raw: bytes | None = message.get("bytes")
        # Checked here rather than by uvicorn's ws_max_size, which is per server: this limit is the chat's own.
        size = len(text.encode()) if text is not None else len(raw or b"")
        if size > self._options.max_message_bytes:
            await self.close(MESSAGE_TOO_BIG, f"messages are limited to {self._options.max_message_bytes} bytes")
            return
        if not self._window.hit():
            self._refused_in_a_row += 1
            if self._refused_in_a_row >= self._options.rate_amount:
                await self.close(POLICY_VIOLATION, "rate limit exceeded")
                return
            await self._send(frames.error(ErrorCode.rate_limited, "Too many messages; this one was dropped."))
            return
        self._refused_in_a_row = 0
        try:
            if text is None:
                raise frames.InvalidFrameError("binary frames are not supported; send JSON text")
            command = frames.parse_client_frame(text)
        except frames.InvalidFrameError as exc:
            self._invalid_in_a_row += 1
            if self._invalid_in_a_row >= self._options.max_invalid_in_a_row:
                await self.close(POLICY_VIOLATION, "too many invalid messages")
                return
            await self._send(frames.error(ErrorCode.invalid_message, str(exc)))
            return
        self._invalid_in_a_row = 0
        await self._dispatch(command)

    async def _dispatch(self, command: frames.ClientCommand) -> None:
        if isinstance(command, JoinMessage):
            if command.room not in self._rooms and len(self._rooms) >= self._options.max_rooms:
                detail = f"A connection joins at most {self._options.max_rooms} rooms; leave one first."
                await self._send(frames.error(ErrorCode.too_many_rooms, detail))
                return
            self._rooms.add(command.room)
            await self._send(JoinedMessage(room=command.room))
        elif isinstance(command, LeaveMessage):
            self._rooms.discard(command.room)
            await self._send(LeftMessage(room=command.room))
        elif isinstance(command, SayMessage):
            await self._say(command)
        elif isinstance(command, PingMessage):
            await self._send(PongMessage())

    async def _say(self, command: SayMessage) -> None:
        if command.room not in self._rooms:
            await self._send(frames.error(ErrorCode.not_in_room, "Join the room before saying something in it."))
            return
        data = ChatMessageEventData(
            room=command.room,
            sender_id=self._principal.subject,
            text=command.text,
            message_id=uuid.uuid4(),
            sent_at=datetime.now(UTC),
        )
        try:
            # Through the bus even for this worker's own connections: one path, so every worker sees the same.
            await self._bus.publish(Event(type=CHAT_EVENT, data=data.model_dump(mode="json")))
        except EventBusUnavailableError:
            logger.warning("a chat message could not be published (event bus unavailable)")
            await self._send(frames.error(ErrorCode.unavailable, "The message could not be sent; try again."))

    async def _forward(self, events: Subscription) -> None:
        async for event in events:
            if event.type != CHAT_EVENT:
                continue
            try:
                data = ChatMessageEventData.model_validate(event.as_dict()["data"])
            except ValidationError:
                logger.warning("skipped a malformed %s event %s", event.type, event.id)
                continue
            if data.room in self._rooms:
                await self._send(frames.room_message(data))
        # The bus closed (the app is shutting down): tell the client to reconnect elsewhere.
        await self.close(GOING_AWAY, "the service is shutting down")
