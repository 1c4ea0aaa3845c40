"""Two real server processes sharing Redis: what is said on one reaches a client connected to the other."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.impl.chat.conftest import CHAT, PROTOCOL, WAIT, exchange, receive, send, welcomed
from tests.server_processes import server_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def ports(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    root = tmp_path_factory.mktemp("chat_fanout")
    # Each its own SQLite: tokens are checked by signature and the shared blacklist.
    with (
        server_process(data_dir=root / "a", REDIS_URL=redis_url) as a,
        server_process(data_dir=root / "b", REDIS_URL=redis_url) as b,
    ):
        yield a.port, b.port


def _token(port: int) -> str:
    response = httpx.post(
        f"http://127.0.0.1:{port}/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def _connect(port: int, token: str) -> connect:
    return connect(
        f"ws://127.0.0.1:{port}{CHAT}",
        subprotocols=[PROTOCOL, Subprotocol(f"bearer.{token}")],
        proxy=None,
        open_timeout=WAIT,
    )


def test_a_message_said_on_one_process_arrives_at_a_client_of_the_other(ports: tuple[int, int]) -> None:
    a, b = ports
    room = f"fanout-{uuid.uuid4().hex[:12]}"  # the shared Redis carries other runs' chat too

    async def scenario() -> None:
        async with _connect(a, _token(a)) as on_a, _connect(b, _token(b)) as on_b:
            speaker = await welcomed(on_a)
            await welcomed(on_b)
            assert (await exchange(on_a, type="join", room=room))["type"] == "joined"
            assert (await exchange(on_b, type="join", room=room))["type"] == "joined"

            await send(on_a, type="say", room=room, text="across workers")
            async with asyncio.timeout(WAIT):
                heard_on_b, heard_on_a = await receive(on_b), await receive(on_a)

            assert heard_on_b == heard_on_a
            assert (heard_on_b["type"], heard_on_b["text"]) == ("message", "across workers")
            assert heard_on_b["sender_id"] == speaker["user_id"]

    asyncio.run(scenario())
