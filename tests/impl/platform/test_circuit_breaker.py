"""The Redis circuit breaker: a few outages open it, then every store fails fast with its usual answer (a miss, a
degraded rate limit, a 503 with Retry-After), the gauge says so, and it closes by itself once Redis is back."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from impl.app import create_app
from impl.auth.token_blacklist import RedisTokenBlacklist, TokenBlacklistUnavailableError
from impl.platform.cache import CacheUnavailableError, RedisCache
from impl.platform.circuit_breaker import (
    FAILURE_THRESHOLD,
    RECOVERY_TIMEOUT_SECONDS,
    BreakerOpenError,
    BreakerState,
    DependencyBreaker,
    DependencyUnreachableError,
)
from impl.platform.events import Event, EventBusUnavailableError, RedisEventBus
from impl.platform.rate_limit import RateLimiter, RateLimitPolicy, RateLimitUnavailableError
from impl.platform.settings import Settings
from tests.conftest import bearer, sign_in, test_settings
from tests.impl.platform.metrics_scrape import sample
from tests.live_server import free_port
from tests.throwaway_redis import throwaway_redis

# The stores' socket timeout (0.5 s, one retry): a call that waits for a hung Redis takes at least this long.
SOCKET_TIMEOUT_SECONDS = 0.5
# "Fails fast": no network wait at all, far below one socket timeout even on a loaded machine.
FAST_SECONDS = 0.25
STATE = "charter_circuit_breaker_state"


def _state_of(breaker: DependencyBreaker) -> BreakerState:
    return breaker.state  # through a call, so that the type checker does not keep an earlier comparison's verdict


async def _outage() -> None:
    raise RedisConnectionError("connection refused")


async def _error_reply() -> None:
    raise ResponseError("WRONGTYPE")


async def _answer() -> str:
    return "PONG"


# ---- the breaker -----------------------------------------------------------------------------------------------


def test_it_opens_after_the_threshold_of_consecutive_outages_and_then_fails_fast() -> None:
    async def scenario() -> None:
        breaker = DependencyBreaker(name="redis", failure_threshold=3, recovery_timeout_seconds=30)
        for _ in range(2):
            with pytest.raises(RedisConnectionError):
                await breaker.call(_outage)
        assert _state_of(breaker) == "closed"
        with pytest.raises(RedisConnectionError):
            await breaker.call(_outage)
        assert _state_of(breaker) == "open"
        assert breaker.state_code == 2

        called = False

        async def must_not_run() -> None:
            nonlocal called
            called = True

        with pytest.raises(BreakerOpenError) as refused:
            await breaker.call(must_not_run)
        assert not called
        assert refused.value.retry_after_seconds == breaker.retry_after_seconds
        assert 29 <= breaker.retry_after_seconds <= 30

    asyncio.run(scenario())


def test_an_answer_of_any_kind_closes_it_and_an_error_reply_is_no_outage() -> None:
    async def scenario() -> None:
        breaker = DependencyBreaker(name="redis", failure_threshold=2, recovery_timeout_seconds=30)
        with pytest.raises(RedisConnectionError):
            await breaker.call(_outage)
        with pytest.raises(ResponseError):  # Redis answered (with an error): it is reachable, the count restarts
            await breaker.call(_error_reply)
        with pytest.raises(RedisConnectionError):
            await breaker.call(_outage)
        assert _state_of(breaker) == "closed"
        assert await breaker.call(_answer) == "PONG"
        with pytest.raises(RedisConnectionError):
            await breaker.call(_outage)
        assert _state_of(breaker) == "closed"

    asyncio.run(scenario())


@pytest.mark.parametrize("outage", [TimeoutError("timed out"), OSError("unreachable"), DependencyUnreachableError()])
def test_timeouts_socket_errors_and_a_stores_own_verdict_count_as_outages(outage: Exception) -> None:
    async def failing() -> None:
        raise outage

    async def scenario() -> None:
        breaker = DependencyBreaker(name="redis", failure_threshold=1, recovery_timeout_seconds=30)
        with pytest.raises(type(outage)):
            await breaker.call(failing)
        assert _state_of(breaker) == "open"

    asyncio.run(scenario())


def test_a_cancelled_call_neither_counts_nor_closes_it() -> None:
    async def scenario() -> None:
        breaker = DependencyBreaker(name="redis", failure_threshold=2, recovery_timeout_seconds=30)
        with pytest.raises(RedisConnectionError):
            await breaker.call(_outage)
        # A readiness deadline or a request timeout cancels a call to a hung Redis: that proves nothing.
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await breaker.call(asyncio.sleep, 10)
        with pytest.raises(RedisConnectionError):
            await breaker.call(_outage)
        assert _state_of(breaker) == "open"

    asyncio.run(scenario())


def test_after_the_recovery_timeout_it_half_opens_one_success_closes_it_one_outage_reopens_it() -> None:
    async def scenario() -> None:
        breaker = DependencyBreaker(name="redis", failure_threshold=2, recovery_timeout_seconds=0.2)
        for _ in range(2):
            with pytest.raises(RedisConnectionError):
                await breaker.call(_outage)
        assert _state_of(breaker) == "open"
        await asyncio.sleep(0.25)
        assert _state_of(breaker) == "half_open"
        assert breaker.state_code == 1
        with pytest.raises(RedisConnectionError):  # the trial call fails: open again, for a full timeout
            await breaker.call(_outage)
        assert _state_of(breaker) == "open"
        await asyncio.sleep(0.25)
        assert await breaker.call(_answer) == "PONG"
        assert _state_of(breaker) == "closed"
        assert breaker.state_code == 0
        assert breaker.retry_after_seconds == 1

    asyncio.run(scenario())


def test_the_defaults_open_within_a_few_timeouts_retry_soon_and_are_the_settings_defaults() -> None:
    assert FAILURE_THRESHOLD == 5
    assert RECOVERY_TIMEOUT_SECONDS == 2.0
    fields = Settings.model_fields
    for dependency in ("redis", "db"):
        assert fields[f"{dependency}_breaker_failure_threshold"].default == FAILURE_THRESHOLD
        assert fields[f"{dependency}_breaker_recovery_seconds"].default == RECOVERY_TIMEOUT_SECONDS
    with pytest.raises(ValueError, match="failure_threshold"):
        DependencyBreaker(name="redis", failure_threshold=0)
    with pytest.raises(ValueError, match="recovery timeout"):
        DependencyBreaker(name="redis", recovery_timeout_seconds=0)


def test_the_apps_redis_breaker_takes_its_threshold_and_recovery_time_from_the_settings(tmp_path: Path) -> None:
    settings = test_settings(
        tmp_path / "data",
        redis_url=f"redis://127.0.0.1:{free_port()}/0",  # nothing listens: refused
        redis_breaker_failure_threshold=1,
        redis_breaker_recovery_seconds=60,
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        token = sign_in(client)
        me = client.get("/api/v1/auth/me", headers=bearer(token))  # the blacklist check: one outage, then open
        assert me.status_code == 503
        assert _state(client) == 2
        again = client.get("/api/v1/auth/me", headers=bearer(token))
        assert again.status_code == 503
        assert 55 <= int(again.headers["Retry-After"]) <= 60


# ---- one breaker shared by the four Redis stores ---------------------------------------------------------------

POLICIES = {
    "general": RateLimitPolicy(
        name="general", amount=10, window_seconds=60, strategy="fixed-window", fail_closed=False
    ),
    "auth": RateLimitPolicy(name="auth", amount=5, window_seconds=300, strategy="moving-window", fail_closed=True),
}


def test_outages_seen_by_one_store_make_every_store_fail_fast_with_its_own_answer() -> None:
    async def scenario() -> None:
        url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens: connection refused
        breaker = DependencyBreaker(name="redis", failure_threshold=3, recovery_timeout_seconds=30)
        blacklist = RedisTokenBlacklist(redis_url=url, breaker=breaker)
        cache = RedisCache(url, breaker=breaker)
        limiter = RateLimiter(policies=POLICIES, redis_url=url, breaker=breaker)
        bus = RedisEventBus(redis_url=url, breaker=breaker)  # not started: publish and ping use the pool alone
        try:
            for _ in range(3):
                with pytest.raises(TokenBlacklistUnavailableError):
                    await blacklist.is_revoked("jti")
            assert _state_of(breaker) == "open"

            started = time.perf_counter()
            with pytest.raises(TokenBlacklistUnavailableError) as blacklist_refused:
                await blacklist.revoke(token_id="jti", expires_at=int(time.time()) + 600)
            assert await cache.get("k") is None  # reads fail open: a miss
            with pytest.raises(CacheUnavailableError) as cache_refused:
                await cache.delete("k")  # invalidation fails closed
            outcome = await limiter.hit(policy="general", key="client")
            assert outcome.allowed
            assert outcome.degraded
            with pytest.raises(RateLimitUnavailableError) as limiter_refused:
                await limiter.hit(policy="auth", key="client")
            with pytest.raises(RateLimitUnavailableError):
                await limiter.ping()
            with pytest.raises(EventBusUnavailableError) as bus_refused:
                await bus.publish(Event(type="user.updated"))
            with pytest.raises(EventBusUnavailableError):
                await bus.ping()
            assert time.perf_counter() - started < FAST_SECONDS

            for refused in (blacklist_refused, cache_refused, limiter_refused, bus_refused):
                assert refused.value.status == 503
                assert 29 <= int(refused.value.headers["Retry-After"]) <= 30  # the breaker's remaining open time
        finally:
            await bus.close()
            await limiter.close()
            await cache.close()
            await blacklist.close()

    asyncio.run(scenario())


# ---- the app, with Redis hung and back -------------------------------------------------------------------------


@contextlib.contextmanager
def _hung_redis_on(port: int) -> Iterator[None]:
    """A server on ``port`` that accepts connections (in the kernel's backlog) and never answers: every call waits
    for the stores' socket timeout, the worst kind of outage."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        silent.bind(("127.0.0.1", port))
        silent.listen(128)
        yield


def _timed_get(client: TestClient, path: str, *, headers: dict[str, str]) -> tuple[float, int, dict[str, str]]:
    started = time.perf_counter()
    response = client.get(path, headers=headers)
    return time.perf_counter() - started, response.status_code, dict(response.headers)


def _state(client: TestClient) -> float | None:
    return sample(client.get("/metrics").text, STATE, dependency="redis")


@pytest.mark.slow
def test_with_redis_hung_the_app_fails_fast_once_the_breaker_opens_and_recovers_when_redis_is_back(
    tmp_path: Path,
) -> None:
    with throwaway_redis() as server:
        settings = test_settings(tmp_path / "data", redis_url=server.url, rate_limit_enabled=True)
        with TestClient(create_app(settings), raise_server_exceptions=False) as client:
            token = sign_in(client)
            assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
            assert client.get("/readyz").status_code == 200
            assert _state(client) == 0

            server.kill()
            with _hung_redis_on(server.port):
                # Closed: each call waits for a socket timeout, then answers as it always did (the blacklist
                # fails closed: 503 + Retry-After), bounded by the stores' short timeouts.
                for _ in range(FAILURE_THRESHOLD):
                    elapsed, status, headers = _timed_get(client, "/api/v1/auth/me", headers=bearer(token))
                    assert status == 503
                    assert "retry-after" in headers
                    assert SOCKET_TIMEOUT_SECONDS * 0.9 <= elapsed < 3
                assert _state(client) == 2

                # Open: the same answers, at once, with Retry-After = the rest of the open time.
                elapsed, status, headers = _timed_get(client, "/api/v1/auth/me", headers=bearer(token))
                assert (status, headers["content-type"]) == (503, "application/problem+json")
                assert 1 <= int(headers["retry-after"]) <= RECOVERY_TIMEOUT_SECONDS
                assert elapsed < FAST_SECONDS
                started = time.perf_counter()
                logout = client.post("/api/v1/auth/logout", headers=bearer(token))
                assert logout.status_code == 503
                assert 1 <= int(logout.headers["Retry-After"]) <= RECOVERY_TIMEOUT_SECONDS
                login = client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": "x" * 12})
                assert login.status_code == 503  # the auth rate limit fails closed
                # The general rate limit fails open: served, without RateLimit headers (the numbers are unknown).
                keys = client.get("/.well-known/jwks.json")
                assert keys.status_code == 200
                assert "RateLimit" not in keys.headers
                # Redis is shared by every replica: this one stays ready; the admins' page says what is down.
                readiness = client.get("/readyz")
                assert readiness.status_code == 200
                detailed = client.get("/health/detailed", headers=bearer(token))
                assert time.perf_counter() - started < 4 * FAST_SECONDS
                down = {check["name"] for check in detailed.json()["checks"] if check["status"] != "up"}
                assert down >= {"rate_limit_store", "token_blacklist", "event_bus"}

            # Redis is back; after the recovery timeout the breaker half-opens and the next call closes it.
            server.restart()
            deadline = time.monotonic() + RECOVERY_TIMEOUT_SECONDS + 1
            while _state(client) != 1:
                assert time.monotonic() < deadline, "the breaker did not half-open"
                time.sleep(0.1)
            assert client.get("/api/v1/auth/me", headers=bearer(token)).status_code == 200
            assert _state(client) == 0
            deadline = time.monotonic() + 5  # the event listener reconnects with its own back-off (<= 2 s)
            while client.get("/readyz").status_code != 200:
                assert time.monotonic() < deadline, "not ready again after Redis came back"
                time.sleep(0.1)
            assert client.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
