"""Shutdown: every open chat socket is told the service is going away (1001), so clients reconnect elsewhere."""

from __future__ import annotations

import asyncio
import threading

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.impl.chat.conftest import admin_token, chat, receive, welcomed
from tests.live_server import LiveServer

GOING_AWAY = 1001


async def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        await receive(ws)
    return closed.value.rcvd.code if closed.value.rcvd else None


def test_closing_the_connections_says_going_away_to_each_client(server: LiveServer) -> None:
    token = admin_token(server)
    # What the lifespan's shutdown calls, run on the server's own loop.
    loop = server.server.servers[0].get_loop()

    async def scenario() -> None:
        async with chat(server, token) as first, chat(server, token) as second:
            await welcomed(first)
            await welcomed(second)
            closing = asyncio.run_coroutine_threadsafe(server.app.state.chat_connections.close_all(), loop)
            assert [await close_code(first), await close_code(second)] == [GOING_AWAY, GOING_AWAY]
            await asyncio.wrap_future(closing)
        assert len(server.app.state.chat_connections) == 0

    asyncio.run(scenario())


def test_a_graceful_server_shutdown_closes_open_sockets_with_1001(server: LiveServer) -> None:
    token = admin_token(server)

    async def scenario() -> int | None:
        async with chat(server, token) as ws:
            await welcomed(ws)
            stopping = threading.Thread(target=server.stop)  # blocks until the server has stopped
            stopping.start()
            code = await close_code(ws)
        await asyncio.to_thread(stopping.join)
        return code

    assert asyncio.run(scenario()) == GOING_AWAY
