"""Limits: oversized frames close with 1009, invalid messages are answered (then 1008), floods are rate-limited."""

from __future__ import annotations

import asyncio
import json

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.impl.chat.conftest import Serve, admin_token, chat, exchange, receive, welcomed
from tests.live_server import LiveServer


async def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await receive(ws)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_a_frame_over_the_size_limit_closes_with_1009(serve: Serve) -> None:
    with serve(ws_max_message_bytes=256) as server:
        token = admin_token(server)

        async def scenario() -> None:
            async with chat(server, token) as ws:
                await welcomed(ws)
                # Within the limit in characters, over it in UTF-8 bytes: the limit is in bytes.
                await ws.send(json.dumps({"type": "say", "room": "lobby", "text": "é" * 120}, ensure_ascii=False))
                assert await close_code(ws) == 1009

        asyncio.run(scenario())


def test_an_invalid_message_is_answered_and_the_connection_stays_open(server: LiveServer) -> None:
    token = admin_token(server)

    async def scenario() -> None:
        async with chat(server, token) as ws:
            await welcomed(ws)
            for invalid in ("not json", '{"type": "shout"}', '{"type": "join", "room": "UPPER"}'):
                await ws.send(invalid)
                answer = await receive(ws)
                assert (answer["type"], answer["code"]) == ("error", "invalid_message"), invalid
            await ws.send(b"\x00binary")
            assert (await receive(ws))["code"] == "invalid_message"
            assert await exchange(ws, type="ping") == {"type": "pong"}
            # A valid message starts the count of invalid ones in a row again.
            assert (await exchange(ws, type="ping", extra=1))["code"] == "invalid_message"

    asyncio.run(scenario())


def test_five_invalid_messages_in_a_row_close_with_1008(server: LiveServer) -> None:
    token = admin_token(server)

    async def scenario() -> None:
        async with chat(server, token) as ws:
            await welcomed(ws)
            for _ in range(4):
                await ws.send("{")
                assert (await receive(ws))["code"] == "invalid_message"
            await ws.send("{")
            assert await close_code(ws) == 1008

    asyncio.run(scenario())


def test_messages_over_the_rate_limit_are_refused_and_a_flood_closes_with_1008(serve: Serve) -> None:
    with serve(ws_rate_limit="3/60") as server:
        token = admin_token(server)

        async def scenario() -> None:
            async with chat(server, token) as ws:
                await welcomed(ws)
                for _ in range(3):
                    assert await exchange(ws, type="ping") == {"type": "pong"}
                for _ in range(2):
                    refusal = await exchange(ws, type="ping")
                    assert (refusal["type"], refusal["code"]) == ("error", "rate_limited")
                await ws.send(json.dumps({"type": "ping"}))
                assert await close_code(ws) == 1008

        asyncio.run(scenario())
