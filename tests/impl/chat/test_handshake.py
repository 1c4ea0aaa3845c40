"""Who may open the chat: a valid access token (subprotocol or Authorization) from an allowed origin, nobody else."""

from __future__ import annotations

import asyncio

import pytest
from websockets.exceptions import InvalidStatus

from tests.impl.chat.conftest import Serve, admin_token, chat, logout, welcomed
from tests.live_server import LiveServer

REFUSED = 403  # a handshake closed before it is accepted (1008 in the contract) is an HTTP 403 on the wire


def refused_status(server: LiveServer, token: str | None, **options: object) -> int:
    async def attempt() -> int:
        with pytest.raises(InvalidStatus) as refusal:
            async with chat(server, token, **options):  # type: ignore[arg-type]
                pass
        return refusal.value.response.status_code

    return asyncio.run(attempt())


def test_a_browser_offers_its_token_as_a_subprotocol_and_only_the_chat_protocol_is_selected(
    server: LiveServer,
) -> None:
    token = admin_token(server)

    async def scenario() -> None:
        async with chat(server, token) as ws:
            welcome = await welcomed(ws)
            assert ws.subprotocol == "charter.chat.v1"
            assert ws.response is not None
            assert token not in str(ws.response.headers)
            assert welcome["rooms"] == []

    asyncio.run(scenario())


def test_other_clients_may_send_an_authorization_header(server: LiveServer) -> None:
    token = admin_token(server)

    async def scenario() -> None:
        async with chat(server, token, header=True) as ws:
            await welcomed(ws)

    asyncio.run(scenario())


def test_no_token_is_refused(server: LiveServer) -> None:
    assert refused_status(server, None) == REFUSED


def test_a_bad_token_is_refused(server: LiveServer) -> None:
    assert refused_status(server, "not.a.token") == REFUSED
    assert refused_status(server, "not.a.token", header=True) == REFUSED


def test_a_token_revoked_by_logout_is_refused(server: LiveServer) -> None:
    token = admin_token(server)
    logout(server, token)
    assert refused_status(server, token) == REFUSED


def test_a_foreign_origin_is_refused_and_an_allowed_one_is_welcome(serve: Serve) -> None:
    with serve(cors_allow_origins=["https://app.example"]) as server:
        token = admin_token(server)
        assert refused_status(server, token, origin="https://evil.example") == REFUSED

        async def scenario() -> None:
            async with chat(server, token, origin="https://app.example") as ws:
                await welcomed(ws)
            async with chat(server, token) as ws:  # no Origin: not a browser, nothing to check
                await welcomed(ws)

        asyncio.run(scenario())


def test_in_test_environments_without_an_allow_list_any_origin_may_connect(server: LiveServer) -> None:
    token = admin_token(server)

    async def scenario() -> None:
        async with chat(server, token, origin="https://anywhere.example") as ws:
            await welcomed(ws)

    asyncio.run(scenario())
