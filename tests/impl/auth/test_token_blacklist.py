"""The token blacklist: a revoked jti stays revoked until the token's own expiry, for every worker, and a store that
cannot be reached refuses (503) instead of letting a possibly revoked token through.

Redis tests use the shared server through ``redis_url``, each under its own key prefix, and delete their keys
afterwards. "Redis down" is a throw-away redis-server (tests/throwaway_redis.py) killed and restarted, or a dead port.
"""

from __future__ import annotations

import asyncio
import time

import pytest
import redis.asyncio
from fastapi import FastAPI
from fastapi.testclient import TestClient

from impl.auth.token_blacklist import (
    MemoryTokenBlacklist,
    RedisTokenBlacklist,
    TokenBlacklist,
    TokenBlacklistUnavailableError,
    create_token_blacklist,
)
from impl.platform.problems import ProblemError, install_problem_handlers
from tests.live_server import free_port
from tests.throwaway_redis import ThrowawayRedis, throwaway_redis

pytestmark = pytest.mark.unit

NOW = 1_750_000_000


class Clock:
    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# --- in process -------------------------------------------------------------------------------------------------


def test_memory_a_revoked_token_is_revoked_until_its_expiry_then_forgotten() -> None:
    clock = Clock()
    blacklist = MemoryTokenBlacklist(clock=clock)

    async def scenario() -> None:
        await blacklist.revoke(token_id="jti-1", expires_at=NOW + 60)
        assert await blacklist.is_revoked("jti-1")
        assert not await blacklist.is_revoked("jti-2")
        clock.now = NOW + 59
        assert await blacklist.is_revoked("jti-1")
        clock.now = NOW + 60  # the token's own exp rejects it from here on
        assert not await blacklist.is_revoked("jti-1")
        assert len(blacklist) == 0

    asyncio.run(scenario())


def test_memory_any_revoked_answers_for_several_ids_at_once() -> None:
    blacklist = MemoryTokenBlacklist(clock=Clock())

    async def scenario() -> None:
        await blacklist.revoke(token_id="session:s1", expires_at=NOW + 60)
        assert await blacklist.any_revoked("jti-1", "session:s1")
        assert await blacklist.any_revoked("session:s1", "jti-1")
        assert not await blacklist.any_revoked("jti-1", "session:s2")
        assert not await blacklist.any_revoked()

    asyncio.run(scenario())


def test_memory_revoking_an_expired_token_stores_nothing() -> None:
    blacklist = MemoryTokenBlacklist(clock=Clock())

    async def scenario() -> None:
        await blacklist.revoke(token_id="old", expires_at=NOW)
        await blacklist.revoke(token_id="older", expires_at=NOW - 3600)
        assert not await blacklist.is_revoked("old")
        assert len(blacklist) == 0

    asyncio.run(scenario())


def test_memory_revoking_twice_keeps_the_later_expiry() -> None:
    clock = Clock()
    blacklist = MemoryTokenBlacklist(clock=clock)

    async def scenario() -> None:
        await blacklist.revoke(token_id="jti", expires_at=NOW + 100)
        await blacklist.revoke(token_id="jti", expires_at=NOW + 10)
        clock.now = NOW + 50
        assert await blacklist.is_revoked("jti")
        await blacklist.revoke(token_id="jti", expires_at=NOW + 200)
        clock.now = NOW + 150
        assert await blacklist.is_revoked("jti")

    asyncio.run(scenario())


def test_memory_expired_entries_are_pruned_a_bounded_number_per_call() -> None:
    clock = Clock()
    blacklist = MemoryTokenBlacklist(clock=clock)
    step = MemoryTokenBlacklist.PRUNE_PER_CALL

    async def scenario() -> None:
        for index in range(10 * step):
            await blacklist.revoke(token_id=f"short-{index}", expires_at=NOW + 10)
        await blacklist.revoke(token_id="long", expires_at=NOW + 10_000)
        clock.now = NOW + 11

        await blacklist.is_revoked("anything")
        assert len(blacklist) == 10 * step + 1 - step  # one call, a bounded amount of work
        for _ in range(20):
            await blacklist.is_revoked("anything")
        assert len(blacklist) == 1  # eventually all expired ones are gone
        assert await blacklist.is_revoked("long")

    asyncio.run(scenario())


def test_create_token_blacklist_picks_the_backend_from_the_url() -> None:
    assert isinstance(create_token_blacklist(redis_url=None), MemoryTokenBlacklist)
    assert isinstance(create_token_blacklist(redis_url=""), MemoryTokenBlacklist)
    shared = create_token_blacklist(redis_url="redis://127.0.0.1:6379/0")
    assert isinstance(shared, RedisTokenBlacklist)
    asyncio.run(shared.close())


# --- shared through Redis ---------------------------------------------------------------------------------------


def test_redis_workers_see_each_others_revocations_until_expiry(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        worker_a: TokenBlacklist = RedisTokenBlacklist(redis_url=redis_url, key_prefix=redis_prefix)
        worker_b: TokenBlacklist = RedisTokenBlacklist(redis_url=redis_url, key_prefix=redis_prefix)
        inspector = redis.asyncio.Redis.from_url(redis_url)
        try:
            await worker_a.ping()
            expires_at = int(time.time()) + 600
            assert not await worker_b.is_revoked("jti-a")

            await worker_a.revoke(token_id="jti-a", expires_at=expires_at)

            assert await worker_b.is_revoked("jti-a")
            assert await worker_a.is_revoked("jti-a")
            assert not await worker_b.is_revoked("jti-b")
            # The guard's one round trip for a token and its session: any of them revoked counts.
            assert await worker_b.any_revoked("jti-b", "jti-a")
            assert not await worker_b.any_revoked("jti-b", "jti-c")
            # Kept exactly until the token's own expiry, then Redis forgets it.
            assert await inspector.expiretime(f"{redis_prefix}jti-a") == expires_at
        finally:
            await worker_a.close()
            await worker_b.close()
            await inspector.aclose()

    asyncio.run(scenario())


def test_redis_revoking_an_already_expired_token_writes_nothing(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        blacklist = RedisTokenBlacklist(redis_url=redis_url, key_prefix=redis_prefix)
        inspector = redis.asyncio.Redis.from_url(redis_url)
        try:
            await blacklist.revoke(token_id="gone", expires_at=int(time.time()) - 1)
            assert not await blacklist.is_revoked("gone")
            assert await inspector.exists(f"{redis_prefix}gone") == 0
        finally:
            await blacklist.close()
            await inspector.aclose()

    asyncio.run(scenario())


def test_redis_an_expired_revocation_is_forgotten(redis_url: str, redis_prefix: str) -> None:
    async def scenario() -> None:
        blacklist = RedisTokenBlacklist(redis_url=redis_url, key_prefix=redis_prefix)
        try:
            await blacklist.revoke(token_id="brief", expires_at=int(time.time()) + 1)
            assert await blacklist.is_revoked("brief")
            for _ in range(60):  # expiry is Redis's own; wait for it rather than assume a speed
                if not await blacklist.is_revoked("brief"):
                    return
                await asyncio.sleep(0.1)
            pytest.fail("the revocation outlived its expiry")
        finally:
            await blacklist.close()

    asyncio.run(scenario())


# --- Redis down: fail closed ------------------------------------------------------------------------------------


def test_redis_killed_fails_closed_with_503_then_recovers_without_restart() -> None:
    async def scenario(server: ThrowawayRedis) -> None:
        blacklist = RedisTokenBlacklist(redis_url=server.url)
        try:
            expires_at = int(time.time()) + 600
            await blacklist.revoke(token_id="jti", expires_at=expires_at)
            assert await blacklist.is_revoked("jti")

            await asyncio.to_thread(server.kill)

            for call in (
                blacklist.is_revoked("jti"),
                blacklist.is_revoked("never-revoked"),
                blacklist.revoke(token_id="other", expires_at=expires_at),
                blacklist.ping(),
            ):
                with pytest.raises(TokenBlacklistUnavailableError) as caught:
                    await call
                assert caught.value.status == 503
                assert "Retry-After" in caught.value.headers

            await asyncio.to_thread(server.restart)  # empty: the new server kept nothing
            await blacklist.ping()
            await blacklist.revoke(token_id="other", expires_at=expires_at)
            assert await blacklist.is_revoked("other")
        finally:
            await blacklist.close()

    with throwaway_redis() as server:
        asyncio.run(scenario(server))


def test_redis_never_reachable_fails_closed() -> None:
    async def scenario() -> None:
        blacklist = RedisTokenBlacklist(redis_url=f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0")
        try:
            with pytest.raises(TokenBlacklistUnavailableError) as caught:
                await blacklist.is_revoked("jti")
            assert "hunter2" not in caught.value.detail
        finally:
            await blacklist.close()

    asyncio.run(scenario())


def test_blacklist_unavailable_is_a_503_problem_with_retry_after_never_a_500() -> None:
    assert issubclass(TokenBlacklistUnavailableError, ProblemError)
    app = FastAPI()
    install_problem_handlers(app)
    blacklist = RedisTokenBlacklist(redis_url=f"redis://127.0.0.1:{free_port()}/0")

    @app.get("/protected")
    async def protected() -> dict[str, bool]:
        try:
            return {"revoked": await blacklist.is_revoked("jti")}
        finally:
            await blacklist.close()

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/protected")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 503
