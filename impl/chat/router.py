"""The chat's WebSocket route, ``/api/v1/ws/chat`` (described in spec/asyncapi.yaml, not in the OpenAPI document).

The app factory injects how a token becomes a Principal (the auth domain's verification), so this domain never
imports another: the same check as the HTTP API's, including the logout blacklist.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import APIRouter
from starlette.websockets import WebSocket

from generated.api._support import Principal
from impl.chat.connections import GOING_AWAY, ChatConnections
from impl.chat.handshake import origin_allowed, presented_token, selected_subprotocol
from impl.chat.options import ChatOptions
from impl.chat.session import INTERNAL_ERROR, POLICY_VIOLATION, ChatSession, StillAllowed
from impl.platform.events import EventBus
from impl.platform.problems import ProblemError

logger = logging.getLogger("charter.chat")

CHAT_PATH = "/api/v1/ws/chat"
Authenticate = Callable[[str], Awaitable[Principal]]


def build_chat_router(
    *,
    authenticate: Authenticate,
    still_allowed: StillAllowed,
    bus: EventBus,
    options: ChatOptions,
    connections: ChatConnections,
) -> APIRouter:
    router = APIRouter()

    @router.websocket(CHAT_PATH)
    async def chat(websocket: WebSocket) -> None:
        if connections.closing:
            await websocket.close(code=GOING_AWAY)
            return
        # Refused before the accept: uvicorn answers the handshake with HTTP 403 (close code 1008 in the contract).
        if not origin_allowed(websocket.headers.get("origin"), options):
            await websocket.close(code=POLICY_VIOLATION)
            return
        token = presented_token(subprotocols=websocket.scope.get("subprotocols", []), headers=websocket.headers)
        if token is None:
            await websocket.close(code=POLICY_VIOLATION)
            return
        try:
            principal = await authenticate(token)
        except ProblemError as exc:
            if exc.status in (401, 403):
                await websocket.close(code=POLICY_VIOLATION)
                return
            # Not the client's fault (the token blacklist is unreachable): accepted, so 1011 reaches the client.
            logger.warning("a chat handshake could not be verified (%s)", type(exc).__name__)
            await websocket.accept(subprotocol=selected_subprotocol(websocket.scope.get("subprotocols", [])))
            await websocket.close(code=INTERNAL_ERROR)
            return
        session = ChatSession(
            websocket=websocket, principal=principal, bus=bus, options=options, still_allowed=still_allowed
        )
        connections.add(session)
        try:
            await session.run(subprotocol=selected_subprotocol(websocket.scope.get("subprotocols", [])))
        finally:
            connections.discard(session)

    return router
