"""Rooms: what is said in one reaches everyone in it (the sender too) and nobody outside it."""

from __future__ import annotations

import asyncio

from tests.impl.chat.conftest import Serve, admin_token, chat, exchange, joined, member_token, receive, send, welcomed
from tests.live_server import LiveServer


def test_two_users_in_a_room_see_each_others_messages_and_a_third_elsewhere_does_not(server: LiveServer) -> None:
    alice, bob, carol = admin_token(server), member_token(server), member_token(server)

    async def scenario() -> None:
        async with chat(server, alice) as a, chat(server, bob) as b, chat(server, carol) as c:
            await joined(a, "lobby")
            await joined(b, "lobby")
            await joined(c, "elsewhere")

            await send(a, type="say", room="lobby", text="hello from alice")
            heard_by_a, heard_by_b = await receive(a), await receive(b)
            await send(b, type="say", room="lobby", text="hi alice")
            replies = [await receive(a), await receive(b)]
            await send(c, type="say", room="elsewhere", text="anyone?")
            heard_by_c = await receive(c)

            assert heard_by_a == heard_by_b
            assert heard_by_a["type"] == "message"
            assert (heard_by_a["room"], heard_by_a["text"]) == ("lobby", "hello from alice")
            assert replies[0] == replies[1]
            assert replies[0]["text"] == "hi alice"
            assert replies[0]["sender_id"] != heard_by_a["sender_id"]
            # Carol's own message is the first thing she receives: nothing said in the lobby reached her.
            assert (heard_by_c["type"], heard_by_c["text"]) == ("message", "anyone?")

    asyncio.run(scenario())


def test_saying_something_in_a_room_not_joined_is_refused(server: LiveServer) -> None:
    token = admin_token(server)

    async def scenario() -> None:
        async with chat(server, token) as ws:
            await welcomed(ws)
            refusal = await exchange(ws, type="say", room="lobby", text="hello?")
            assert (refusal["type"], refusal["code"]) == ("error", "not_in_room")
            assert await exchange(ws, type="join", room="lobby") == {"type": "joined", "room": "lobby"}
            assert await exchange(ws, type="leave", room="lobby") == {"type": "left", "room": "lobby"}
            refusal = await exchange(ws, type="say", room="lobby", text="still here?")
            assert refusal["code"] == "not_in_room"

    asyncio.run(scenario())


def test_a_connection_joins_at_most_twenty_rooms(serve: Serve) -> None:
    with serve(ws_rate_limit="100/10") as server:
        token = admin_token(server)

        async def scenario() -> None:
            async with chat(server, token) as ws:
                await welcomed(ws)
                for n in range(20):
                    assert (await exchange(ws, type="join", room=f"room-{n}"))["type"] == "joined"
                refusal = await exchange(ws, type="join", room="one-too-many")
                assert (refusal["type"], refusal["code"]) == ("error", "too_many_rooms")
                # Joining a room it is already in is no new room.
                assert (await exchange(ws, type="join", room="room-0"))["type"] == "joined"

        asyncio.run(scenario())


def test_ping_is_answered_with_pong(server: LiveServer) -> None:
    token = admin_token(server)

    async def scenario() -> None:
        async with chat(server, token) as ws:
            await welcomed(ws)
            assert await exchange(ws, type="ping") == {"type": "pong"}

    asyncio.run(scenario())
