"""Every change of an account's access × every channel it could still be used on: the new state's answer, within 2 s.

Transitions: admin→user, admin→moderator, moderator→user, deactivation, deletion, a password change (from another
session), logout, and the logout of another session (which must leave this one alone). Channels, all of one login
session ("A"): its old access token on an operation its old role allowed (found in the spec's `x-roles`), its
refresh token, a new WebSocket handshake, a WebSocket opened before, a new SSE stream, an SSE stream opened before.

Runs against real server processes: one on SQLite, and two on PostgreSQL sharing a Redis, where the channels are
on one process and the change is made on the other. One deployment per database, a fresh account per case.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
import yaml
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from impl.platform.settings import PROJECT_ROOT
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer
from tests.server_processes import fresh_database, server_process
from tests.throwaway_redis import throwaway_redis

pytestmark = pytest.mark.slow

SPEC: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
PASSWORD = "violet harbour lantern quietly drifts"  # nosec B105 - a test fixture
NEW_PASSWORD = "seven copper kites over the marsh"  # nosec B105 - a test fixture
WITHIN = 2.0
USERS = "/api/v1/users"
AUTH = "/api/v1/auth"
EVENTS = "/api/v1/sse/stream"
CHAT = "/api/v1/ws/chat"
CHAT_PROTOCOL = Subprotocol("charter.chat.v1")
POLICY_VIOLATION = 1008
TIMEOUT = httpx.Timeout(10.0)


@dataclass(frozen=True)
class Transition:
    name: str
    role: str  # the account's role before
    new_role: str | None  # after, when it is a role change
    keeps_session: bool  # whether session A is still good afterwards


TRANSITIONS = [
    Transition("admin_to_user", "admin", "user", keeps_session=False),
    Transition("admin_to_moderator", "admin", "moderator", keeps_session=False),
    Transition("moderator_to_user", "moderator", "user", keeps_session=False),
    Transition("deactivate", "user", None, keeps_session=False),
    Transition("delete", "user", None, keeps_session=False),
    Transition("password_change", "user", None, keeps_session=False),
    Transition("logout", "user", None, keeps_session=False),
    Transition("logout_other_session", "user", None, keeps_session=True),
]


def allowed_read(role: str, new_role: str | None) -> str:
    """A parameterless GET the old role may call per the spec's `x-roles`; one the new role may not, if any."""
    candidates: list[tuple[bool, str]] = []
    for path, item in SPEC["paths"].items():
        get = item.get("get")
        if not get or "{" in path or "x-roles" not in get or path == EVENTS:
            continue
        roles = set(get["x-roles"])
        if role in roles and not get.get("x-self-only"):
            candidates.append((new_role is None or new_role in roles, path))
    return sorted(candidates)[0][1]


@dataclass(frozen=True)
class Deployment:
    channels: str  # where session A's channels are
    changes: str  # where the change is made


@pytest.fixture(scope="module", params=["sqlite", "postgresql-redis-two-processes"])
def deployment(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root: Path = tmp_path_factory.mktemp("transitions")
    quick = {"SSE_HEARTBEAT_SECONDS": "1", "SSE_TICK_SECONDS": "60"}
    if request.param == "sqlite":
        with server_process(data_dir=root / "a", **quick) as single:
            yield Deployment(channels=single.url, changes=single.url)
        return
    postgres_url = request.getfixturevalue("postgres_url")
    with (
        fresh_database(postgres_url) as database_url,
        throwaway_redis() as redis,
        server_process(data_dir=root / "a", database_url=database_url, REDIS_URL=redis.url, **quick) as a,
        server_process(data_dir=root / "b", database_url=database_url, REDIS_URL=redis.url, **quick) as b,
    ):
        yield Deployment(channels=a.url, changes=b.url)


def sign_in(url: str, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = httpx.post(f"{url}{AUTH}/login", json={"email": email, "password": password}, timeout=TIMEOUT)
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def admin(url: str) -> dict[str, str]:
    return bearer(sign_in(url, ADMIN_EMAIL, ADMIN_PASSWORD)["access_token"])


def change(transition: Transition, url: str, user_id: str, other: dict[str, Any], mine: dict[str, Any]) -> None:
    """Make the transition on ``url``: as the admin, or as the account itself (session B, or A for logout)."""
    merge = {**admin(url), "Content-Type": "application/merge-patch+json"}
    if transition.new_role is not None:
        response = httpx.patch(f"{url}{USERS}/{user_id}", json={"role": transition.new_role}, headers=merge)
    elif transition.name == "deactivate":
        response = httpx.patch(f"{url}{USERS}/{user_id}", json={"active": False}, headers=merge)
    elif transition.name == "delete":
        response = httpx.delete(f"{url}{USERS}/{user_id}", headers=admin(url))
    elif transition.name == "password_change":
        body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        response = httpx.post(f"{url}{AUTH}/me/password", json=body, headers=bearer(other["access_token"]))
    else:
        session = mine if transition.name == "logout" else other
        response = httpx.post(f"{url}{AUTH}/logout", headers=bearer(session["access_token"]))
    assert response.status_code in (200, 204), response.text


def eventually(check: Callable[[], bool]) -> bool:
    """Whether ``check`` holds within 2 s (asked again until then)."""
    deadline = time.monotonic() + WITHIN
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)


def chat(url: str, token: str) -> connect:
    return connect(
        f"{url.replace('http', 'ws', 1)}{CHAT}",
        subprotocols=[CHAT_PROTOCOL, Subprotocol(f"bearer.{token}")],
        proxy=None,
        open_timeout=5,
        close_timeout=5,
    )


async def socket_closed_within(ws: ClientConnection, seconds: float) -> int | None:
    """The close code if the server closed the socket within ``seconds`` (pinging it meanwhile), else None."""
    try:
        async with asyncio.timeout(seconds):
            while True:
                await ws.send('{"type": "ping"}')
                await ws.recv()
                await asyncio.sleep(0.3)
    except ConnectionClosed:
        return ws.close_code
    except TimeoutError:
        return None


def stream_ended_within(url: str, token: str, opened: asyncio.Event, loop: asyncio.AbstractEventLoop) -> float:
    """Open an SSE stream, say so, then the seconds until it ended (heartbeats every second keep it talking)."""
    with (
        httpx.Client(base_url=url, timeout=TIMEOUT) as client,
        client.stream("GET", EVENTS, headers=bearer(token)) as response,
    ):
        assert response.status_code == 200
        lines = response.iter_lines()
        next(lines)  # the retry frame: subscribed
        loop.call_soon_threadsafe(opened.set)
        started = time.monotonic()
        for _ in lines:
            if time.monotonic() - started > WITHIN + 1.5:
                return float("inf")
        return time.monotonic() - started


def handshake_accepted(url: str, token: str) -> bool:
    async def attempt() -> bool:
        try:
            async with chat(url, token) as ws:
                return '"welcome"' in str(await ws.recv())
        except InvalidStatus:
            return False

    return asyncio.run(attempt())


@pytest.mark.parametrize("transition", TRANSITIONS, ids=[t.name for t in TRANSITIONS])
def test_every_channel_answers_as_the_new_state_within_two_seconds(
    deployment: Deployment, transition: Transition
) -> None:
    here, there = deployment.channels, deployment.changes
    email = f"t{uuid.uuid4().hex[:10]}@example.com"
    body = {"email": email, "name": "Transition", "password": PASSWORD, "role": transition.role}
    created = httpx.post(f"{there}{USERS}", json=body, headers=admin(there), timeout=TIMEOUT)
    assert created.status_code == 201, created.text
    mine, other = sign_in(here, email), sign_in(there, email)  # session A (the channels'), session B
    token = mine["access_token"]
    read = allowed_read(transition.role, transition.new_role)
    assert httpx.get(f"{here}{read}", headers=bearer(token)).status_code == 200

    async def live_channels() -> tuple[int | None, float]:
        loop, opened = asyncio.get_running_loop(), asyncio.Event()
        stream = asyncio.create_task(asyncio.to_thread(stream_ended_within, here, token, opened, loop))
        async with chat(here, token) as ws:
            assert '"welcome"' in str(await ws.recv())
            await opened.wait()
            await asyncio.to_thread(change, transition, there, created.json()["id"], other, mine)
            closed = await socket_closed_within(ws, WITHIN + 1.5)
        return closed, await stream

    socket_close, stream_end = asyncio.run(live_channels())

    if transition.keeps_session:
        assert socket_close is None
        assert stream_end == float("inf")
        assert httpx.get(f"{here}{read}", headers=bearer(token)).status_code == 200
        assert httpx.post(f"{here}{AUTH}/refresh", json={"refresh_token": mine["refresh_token"]}).status_code == 200
        assert handshake_accepted(here, token)
        assert httpx.get(f"{here}{EVENTS}", headers=bearer(token), params={"max_seconds": 1}).status_code == 200
        return
    assert socket_close == POLICY_VIOLATION
    assert stream_end < WITHIN
    assert eventually(lambda: httpx.get(f"{here}{read}", headers=bearer(token)).status_code == 401)
    refresh = {"refresh_token": mine["refresh_token"]}
    assert eventually(lambda: httpx.post(f"{here}{AUTH}/refresh", json=refresh).status_code == 401)
    assert eventually(lambda: not handshake_accepted(here, token))
    assert eventually(lambda: httpx.get(f"{here}{EVENTS}", headers=bearer(token)).status_code == 401)
