"""The rate limiter: budgets per policy and key, IETF RateLimit headers, a budget shared by workers through Redis,
and a store that is down answered by the policy (fail open or 503), never by a 500.

Redis tests use the shared server through ``redis_url``, each under its own key prefix, and delete their keys
afterwards. "Redis down" is a throw-away redis-server (tests/throwaway_redis.py) killed and restarted, or a dead port.
"""

from __future__ import annotations

import asyncio
import logging
import re
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from impl.platform.problems import ProblemError, install_problem_handlers
from impl.platform.rate_limit import (
    RateLimiter,
    RateLimitExceededError,
    RateLimitOutcome,
    RateLimitPolicy,
    RateLimitUnavailableError,
    StrategyName,
    parse_rate,
)
from tests.live_server import free_port
from tests.throwaway_redis import ThrowawayRedis, throwaway_redis

pytestmark = pytest.mark.unit

AUTH = RateLimitPolicy(name="auth", amount=5, window_seconds=300, strategy="moving-window", fail_closed=True)
GENERAL = RateLimitPolicy(name="general", amount=3, window_seconds=60, strategy="fixed-window", fail_closed=False)
POLICIES = {"auth": AUTH, "general": GENERAL}

LimiterFactory = Callable[..., RateLimiter]

# RateLimit-Policy and RateLimit as structured-field lists of one item: a quoted name and integer parameters.
POLICY_HEADER = re.compile(r'^"[A-Za-z0-9_.-]+";q=\d+;w=\d+$')
LIMIT_HEADER = re.compile(r'^"[A-Za-z0-9_.-]+";r=\d+;t=\d+$')


@pytest.fixture
def key_prefix(redis_prefix: str) -> str:
    return f"{redis_prefix}rl"  # the limiter adds its own separator; "<prefix>rl-other" is cleaned up too


@pytest.fixture(params=["memory", "redis"])
def make_limiter(request: pytest.FixtureRequest) -> LimiterFactory:
    """Builds limiters inside the test's event loop; every Redis one shares one key prefix (as workers would)."""
    if request.param == "memory":
        return lambda **kwargs: RateLimiter(redis_url=None, **kwargs)
    url: str = request.getfixturevalue("redis_url")
    prefix: str = request.getfixturevalue("key_prefix")
    return lambda **kwargs: RateLimiter(redis_url=url, key_prefix=prefix, **kwargs)


@asynccontextmanager
async def opened(limiter: RateLimiter) -> AsyncIterator[RateLimiter]:
    try:
        yield limiter
    finally:
        await limiter.close()


# ---- budgets and headers, on both storages -----------------------------------------------------------------


def test_moving_window_refuses_the_hit_after_the_budget_with_structured_headers(make_limiter: LimiterFactory) -> None:
    async def scenario() -> None:
        async with opened(make_limiter(policies=POLICIES)) as limiter:
            first = await limiter.hit(policy="auth", key="203.0.113.7")
            assert first.allowed
            assert not first.degraded
            assert first.remaining == 4
            assert 1 <= first.reset_after_seconds <= 300
            assert first.headers() == {
                "RateLimit-Policy": '"auth";q=5;w=300',
                "RateLimit": f'"auth";r=4;t={first.reset_after_seconds}',
            }
            for _ in range(4):
                assert (await limiter.hit(policy="auth", key="203.0.113.7")).allowed
            refused = await limiter.hit(policy="auth", key="203.0.113.7")
            assert not refused.allowed
            assert refused.remaining == 0
            assert 1 <= refused.reset_after_seconds <= 300
            headers = refused.headers()
            assert set(headers) == {"RateLimit-Policy", "RateLimit", "Retry-After"}
            assert headers["RateLimit-Policy"] == '"auth";q=5;w=300'
            assert headers["RateLimit"] == f'"auth";r=0;t={refused.reset_after_seconds}'
            assert headers["Retry-After"] == str(refused.reset_after_seconds)
            assert POLICY_HEADER.match(headers["RateLimit-Policy"])
            assert LIMIT_HEADER.match(headers["RateLimit"])

    asyncio.run(scenario())


@pytest.mark.parametrize("strategy", ["moving-window", "fixed-window", "sliding-window-counter"])
def test_remaining_counts_down_to_zero_then_refuses(make_limiter: LimiterFactory, strategy: StrategyName) -> None:
    policy = RateLimitPolicy(name="uploads", amount=4, window_seconds=120, strategy=strategy, fail_closed=False)

    async def scenario() -> None:
        async with opened(make_limiter(policies={"uploads": policy})) as limiter:
            outcomes = [await limiter.hit(policy="uploads", key="acct-1") for _ in range(6)]
            assert [o.allowed for o in outcomes] == [True, True, True, True, False, False]
            assert [o.remaining for o in outcomes] == [3, 2, 1, 0, 0, 0]
            assert all(1 <= o.reset_after_seconds <= 120 for o in outcomes)

    asyncio.run(scenario())


def test_keys_and_policies_have_separate_budgets(make_limiter: LimiterFactory) -> None:
    same_shape = RateLimitPolicy(
        name="general2", amount=3, window_seconds=60, strategy="fixed-window", fail_closed=False
    )

    async def scenario() -> None:
        async with opened(make_limiter(policies={**POLICIES, "general2": same_shape})) as limiter:
            for _ in range(3):
                assert (await limiter.hit(policy="general", key="a")).allowed
            assert not (await limiter.hit(policy="general", key="a")).allowed
            # Another key, a key that merely starts like it, and another policy with the same numbers: all fresh.
            assert (await limiter.hit(policy="general", key="b")).remaining == 2
            assert (await limiter.hit(policy="general", key="a/3/60")).remaining == 2
            assert (await limiter.hit(policy="general2", key="a")).remaining == 2
            assert (await limiter.hit(policy="auth", key="a")).remaining == 4

    asyncio.run(scenario())


def test_check_raises_429_only_when_over_budget(make_limiter: LimiterFactory) -> None:
    async def scenario() -> None:
        async with opened(make_limiter(policies=POLICIES)) as limiter:
            for _ in range(3):
                await limiter.check(policy="general", key="k")
            with pytest.raises(RateLimitExceededError) as raised:
                await limiter.check(policy="general", key="k")
            error = raised.value
            assert error.status == 429
            assert error.outcome.policy is GENERAL
            assert not error.outcome.allowed
            assert error.headers == error.outcome.headers()
            assert error.headers["Retry-After"] == str(error.outcome.reset_after_seconds)
            assert "'general'" in error.detail
            assert f"retry in {error.outcome.reset_after_seconds} s" in error.detail

    asyncio.run(scenario())


def test_ping_answers_for_a_reachable_store(make_limiter: LimiterFactory) -> None:
    async def scenario() -> None:
        async with opened(make_limiter(policies=POLICIES)) as limiter:
            await limiter.ping()

    asyncio.run(scenario())


def test_an_unknown_policy_is_a_key_error() -> None:
    async def scenario() -> None:
        async with opened(RateLimiter(policies=POLICIES, redis_url=None)) as limiter:
            with pytest.raises(KeyError):
                await limiter.hit(policy="nope", key="k")

    asyncio.run(scenario())


def test_a_disabled_limiter_never_refuses_counts_nothing_and_sends_no_headers() -> None:
    async def scenario() -> None:
        # A dead Redis URL: a disabled limiter must not even try it.
        dead = f"redis://127.0.0.1:{free_port()}/0"
        async with opened(RateLimiter(policies=POLICIES, redis_url=dead, enabled=False)) as limiter:
            for _ in range(20):
                outcome = await limiter.hit(policy="auth", key="k")
                assert outcome.allowed
                assert not outcome.enforced
                assert not outcome.degraded
                assert outcome.headers() == {}
                await limiter.check(policy="auth", key="k")
            await limiter.ping()

    asyncio.run(scenario())


# ---- the problems, as a client sees them -------------------------------------------------------------------


def _problem_app(limiter_errors: dict[str, ProblemError]) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/{name}")
    async def fail(name: str) -> None:
        raise limiter_errors[name]

    return app


def test_exceeded_and_unavailable_are_problem_responses() -> None:
    refused = RateLimitOutcome(policy=AUTH, allowed=False, remaining=0, reset_after_seconds=42, degraded=False)
    errors: dict[str, ProblemError] = {
        "exceeded": RateLimitExceededError(outcome=refused),
        "unavailable": RateLimitUnavailableError(),
    }
    with TestClient(_problem_app(errors)) as client:
        exceeded = client.get("/exceeded")
        unavailable = client.get("/unavailable")
    assert exceeded.status_code == 429
    assert exceeded.headers["Content-Type"] == "application/problem+json"
    assert exceeded.headers["Retry-After"] == "42"
    assert exceeded.headers["RateLimit-Policy"] == '"auth";q=5;w=300'
    assert exceeded.headers["RateLimit"] == '"auth";r=0;t=42'
    assert exceeded.json()["title"] == "Too Many Requests"
    assert unavailable.status_code == 503
    assert unavailable.headers["Content-Type"] == "application/problem+json"
    assert unavailable.headers["Retry-After"] == "1"
    assert "rate-limit store is unreachable" in unavailable.json()["detail"]


# ---- Redis: shared by workers, and down ------------------------------------------------------------------------


def test_two_workers_sharing_redis_share_one_budget(redis_url: str, key_prefix: str) -> None:
    async def scenario() -> None:
        async with (
            opened(RateLimiter(policies=POLICIES, redis_url=redis_url, key_prefix=key_prefix)) as worker_1,
            opened(RateLimiter(policies=POLICIES, redis_url=redis_url, key_prefix=key_prefix)) as worker_2,
            opened(RateLimiter(policies=POLICIES, redis_url=redis_url, key_prefix=f"{key_prefix}-other")) as other,
        ):
            workers = [worker_1, worker_2]
            outcomes = [await workers[i % 2].hit(policy="auth", key="client") for i in range(6)]
            assert [o.allowed for o in outcomes] == [True] * 5 + [False]
            assert [o.remaining for o in outcomes] == [4, 3, 2, 1, 0, 0]
            # Another deployment (another key prefix) on the same Redis does not share it.
            assert (await other.hit(policy="auth", key="client")).remaining == 4

    asyncio.run(scenario())


def test_redis_killed_fail_open_degrades_fail_closed_refuses_then_recovers(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario(server: ThrowawayRedis) -> None:
        limiter = RateLimiter(policies=POLICIES, redis_url=server.url, failure_backoff_seconds=0.2)
        async with opened(limiter):
            assert not (await limiter.hit(policy="general", key="k")).degraded
            assert not (await limiter.hit(policy="auth", key="k")).degraded
            await limiter.ping()

            await asyncio.to_thread(server.kill)
            for _ in range(3):  # the first reaches the dead server, the rest are inside the back-off
                open_outcome = await limiter.hit(policy="general", key="k")
                assert open_outcome.allowed
                assert open_outcome.degraded
                assert open_outcome.headers() == {}
                await limiter.check(policy="general", key="k")
                with pytest.raises(RateLimitUnavailableError) as raised:
                    await limiter.hit(policy="auth", key="k")
                assert raised.value.status == 503
                assert raised.value.headers == {"Retry-After": "1"}
                with pytest.raises(RateLimitUnavailableError):
                    await limiter.check(policy="auth", key="k")
            with pytest.raises(RateLimitUnavailableError):
                await limiter.ping()

            # It comes back (empty: this server keeps nothing): counting resumes without a restart.
            await asyncio.to_thread(server.restart)
            await asyncio.sleep(0.3)  # past the back-off
            await limiter.ping()
            recovered = await limiter.hit(policy="auth", key="k")
            assert recovered.allowed
            assert not recovered.degraded
            assert recovered.remaining == 4

    with throwaway_redis() as server, caplog.at_level(logging.WARNING, logger="charter.rate_limit"):
        asyncio.run(scenario(server))
    warnings = [record for record in caplog.records if record.name == "charter.rate_limit"]
    assert warnings
    assert all(record.levelno == logging.WARNING for record in warnings)


def test_an_unreachable_redis_never_leaks_an_exception_or_the_url_password(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
        async with opened(RateLimiter(policies=POLICIES, redis_url=url, failure_backoff_seconds=0)) as limiter:
            outcome = await limiter.hit(policy="general", key="alice@example.com")
            assert outcome.degraded
            with pytest.raises(RateLimitUnavailableError):
                await limiter.hit(policy="auth", key="alice@example.com")
            with pytest.raises(RateLimitUnavailableError):
                await limiter.ping()

    with caplog.at_level(logging.WARNING, logger="charter.rate_limit"):
        asyncio.run(scenario())
    assert "hunter2-secret" not in caplog.text
    assert "alice@example.com" not in caplog.text


@pytest.mark.parametrize("strategy", ["moving-window", "fixed-window", "sliding-window-counter"])
def test_a_redis_that_never_answers_gets_the_policy_answer(strategy: StrategyName) -> None:
    fail_open = RateLimitPolicy(name="open", amount=2, window_seconds=10, strategy=strategy, fail_closed=False)
    fail_closed = RateLimitPolicy(name="closed", amount=2, window_seconds=10, strategy=strategy, fail_closed=True)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # connections complete in the backlog; nothing ever replies

        async def scenario() -> None:
            url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
            policies = {"open": fail_open, "closed": fail_closed}
            async with opened(RateLimiter(policies=policies, redis_url=url, failure_backoff_seconds=0)) as limiter:
                assert (await limiter.hit(policy="open", key="k")).degraded
                with pytest.raises(RateLimitUnavailableError):
                    await limiter.hit(policy="closed", key="k")

        asyncio.run(scenario())


# ---- configuration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5/300", (5, 300)),
        (" 10 / 60 ", (10, 60)),
        ("5 per 5 minutes", (5, 300)),
        ("100/minute", (100, 60)),
        ("3 per hour", (3, 3600)),
        ("1/second", (1, 1)),
        ("1000 per day", (1000, 86400)),
        ("20/30 seconds", (20, 30)),
    ],
)
def test_parse_rate_reads_plain_and_limits_notation(text: str, expected: tuple[int, int]) -> None:
    assert parse_rate(text) == expected


@pytest.mark.parametrize(
    "text", ["", "abc", "5", "5/", "/60", "0/60", "5/0", "-1/60", "5/fortnight", "1/second; 5/minute", "5 per"]
)
def test_parse_rate_rejects_nonsense(text: str) -> None:
    with pytest.raises(ValueError, match=r"."):
        parse_rate(text)


@pytest.mark.parametrize(
    "changes",
    [
        {"name": ""},
        {"name": 'a"b'},
        {"name": "a/b"},
        {"amount": 0},
        {"window_seconds": 0},
        {"strategy": "token-bucket"},
    ],
)
def test_a_policy_rejects_values_the_headers_or_keys_cannot_carry(changes: dict[str, object]) -> None:
    fields: dict[str, object] = {
        "name": "ok",
        "amount": 1,
        "window_seconds": 1,
        "strategy": "fixed-window",
        "fail_closed": False,
        **changes,
    }
    with pytest.raises(ValueError, match=r"."):
        RateLimitPolicy(**fields)  # type: ignore[arg-type]


def test_a_policy_must_be_registered_under_its_own_name() -> None:
    with pytest.raises(ValueError, match="named 'auth'"):
        RateLimiter(policies={"login": AUTH}, redis_url=None)
