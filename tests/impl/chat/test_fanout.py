"""Two real server processes sharing Redis: what is said on one reaches a client connected to the other."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2 as httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from scripts.fuzz import ROOT, free_port, wait_until_ready
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.impl.chat.conftest import CHAT, PROTOCOL, WAIT, exchange, receive, send, welcomed

pytestmark = pytest.mark.slow


def _start(*, port: int, redis_url: str, data_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "APP_ENV": "test",
        "PORT": str(port),
        "WORKERS": "1",
        "DATA_DIR": str(data_dir),  # each its own SQLite: tokens are checked by signature and the shared blacklist
        "REDIS_URL": redis_url,
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "RATE_LIMIT_ENABLED": "false",
        "PASSWORD_HASH_MEMORY_KIB": "19456",
        "PASSWORD_HASH_ITERATIONS": "2",
        "PASSWORD_HASH_PARALLELISM": "1",
    }
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "impl"], cwd=ROOT, env=env, stdout=out, stderr=out)


@pytest.fixture(scope="module")
def ports(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[int, int]]:
    root = tmp_path_factory.mktemp("chat_fanout")
    processes: list[subprocess.Popen[bytes]] = []
    try:
        chosen = []
        for label in ("a", "b"):
            port = free_port()
            processes.append(_start(port=port, redis_url=redis_url, data_dir=root / label, log=root / f"{label}.log"))
            chosen.append(port)
        for port, process in zip(chosen, processes, strict=True):
            wait_until_ready(f"http://127.0.0.1:{port}/readyz", process, timeout=30)
        yield chosen[0], chosen[1]
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


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
