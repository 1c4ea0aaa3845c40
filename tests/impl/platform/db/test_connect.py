"""PostgreSQL connections through the database's circuit breaker, with a connect timeout and a statement timeout.

Against the machine's real PostgreSQL (the statement timeout, query errors, the readiness probe past an open breaker)
and against ports where nothing answers (refused, or accepted and never answered): connection-level failures open
the breaker, which then refuses at once; query errors never count; a health check still reaches the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.requests import Request

from impl.platform.circuit_breaker import BreakerState, DependencyBreaker
from impl.platform.db.connect import connect_arguments, database_check, is_database_outage
from impl.platform.db.engine import create_engine, database_breaker
from impl.platform.db.errors import (
    DatabaseBreakerOpenError,
    DatabaseConnectTimeoutError,
    DatabaseUnavailableError,
    handle_database_error,
    handle_database_unavailable,
)
from impl.platform.settings import Settings
from tests.conftest import fresh_database, test_settings
from tests.live_server import free_port

# No network wait at all: far below the smallest connect timeout used here, even on a loaded machine.
FAST_SECONDS = 0.25


def _settings(tmp_path: Path, database_url: str, **overrides: object) -> Settings:
    return test_settings(tmp_path / "data", database_url=database_url, **overrides)


@contextlib.asynccontextmanager
async def _engine(settings: Settings, breaker: DependencyBreaker | None = None) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(settings, breaker=breaker)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _select_one(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


@contextlib.contextmanager
def _silent_server() -> Iterator[int]:
    """A port that accepts connections (in the kernel's backlog) and never answers: a hung database host."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield silent.getsockname()[1]


def _state(breaker: DependencyBreaker) -> BreakerState:
    return breaker.state  # through a call, so that the type checker does not keep an earlier comparison's verdict


def _request() -> Request:
    return Request({"type": "http", "method": "GET", "path": "/api/v1/users", "headers": [], "query_string": b""})


# ---- what counts as an outage -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "outage"),
    [
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (OSError(113, "no route to host"), True),
        (asyncpg.exceptions.CannotConnectNowError("the database system is starting up"), True),
        (asyncpg.exceptions.TooManyConnectionsError("too many clients"), True),
        (asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"), True),
        (asyncpg.exceptions.InvalidPasswordError("password authentication failed"), False),
        (asyncpg.exceptions.InvalidCatalogNameError('database "x" does not exist'), False),
        (asyncpg.exceptions.UniqueViolationError("duplicate key"), False),
        (asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"), False),
        (ValueError("a bug"), False),
    ],
)
def test_only_connection_level_failures_are_outages(error: BaseException, outage: bool) -> None:
    assert is_database_outage(error) is outage


def test_the_connect_arguments_keep_the_urls_and_add_both_timeouts() -> None:
    url = make_url("postgresql+asyncpg://app:s%40cret@db.internal:6543/charter?ssl=require")
    arguments = connect_arguments(url, connect_timeout_seconds=3.0, statement_timeout_seconds=7.5)
    assert arguments == {
        "host": "db.internal",
        "port": 6543,
        "user": "app",
        "password": "s@cret",
        "database": "charter",
        "ssl": "require",
        "timeout": 3.0,
        "server_settings": {"statement_timeout": "7500"},
    }


def test_a_url_option_only_the_dialect_understands_is_refused_when_the_engine_is_built(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://postgres@127.0.0.1:5432/test?prepared_statement_cache_size=0"
    with pytest.raises(ValueError, match="prepared_statement_cache_size"):
        create_engine(_settings(tmp_path, url))


def test_sqlite_gets_no_breaker(tmp_path: Path) -> None:
    assert database_breaker(test_settings(tmp_path / "data")) is None


# ---- against the real PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
def pg_database(postgres_url: str) -> Iterator[str]:
    with fresh_database(postgres_url) as url:
        yield url


def test_a_statement_past_the_timeout_is_cancelled_by_the_server_and_answered_504(
    pg_database: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, pg_database, db_statement_timeout_seconds=0.2, db_breaker_failure_threshold=1)
    breaker = database_breaker(settings)
    assert breaker is not None

    async def scenario() -> None:
        async with _engine(settings, breaker) as engine, engine.connect() as connection:
            started = time.perf_counter()
            with pytest.raises(sa_exc.DBAPIError) as raised:
                await connection.execute(text("SELECT pg_sleep(5)"))
            assert time.perf_counter() - started < 2  # cancelled at 0.2 s, not after the 5 s sleep
            assert raised.value.orig is not None
            assert getattr(raised.value.orig, "sqlstate", None) == "57014"
            response = await handle_database_error(_request(), raised.value)
            assert response.status_code == 504
            assert response.headers["content-type"] == "application/problem+json"
            assert json.loads(bytes(response.body))["status"] == 504
            # The connection survives its cancelled statement, and the breaker never heard of it.
            await connection.rollback()
            assert (await connection.execute(text("SELECT 41 + 1"))).scalar_one() == 42
        assert _state(breaker) == "closed"

    asyncio.run(scenario())


def test_query_errors_never_trip_the_breaker(pg_database: str, tmp_path: Path) -> None:
    settings = _settings(tmp_path, pg_database, db_breaker_failure_threshold=1)
    breaker = database_breaker(settings)
    assert breaker is not None

    async def scenario() -> None:
        async with _engine(settings, breaker) as engine:
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (id int PRIMARY KEY)"))
                await connection.execute(text("INSERT INTO t VALUES (1)"))
            for _ in range(3):
                with pytest.raises(sa_exc.IntegrityError):
                    async with engine.begin() as connection:
                        await connection.execute(text("INSERT INTO t VALUES (1)"))
                with pytest.raises(sa_exc.ProgrammingError):
                    async with engine.connect() as connection:
                        await connection.execute(text("SELECT * FROM no_such_table"))
            assert _state(breaker) == "closed"
            await _select_one(engine)

    asyncio.run(scenario())


def test_a_health_check_reaches_the_database_past_an_open_breaker_and_closes_it(
    pg_database: str, tmp_path: Path
) -> None:
    settings = _settings(tmp_path, pg_database, db_breaker_failure_threshold=2, db_breaker_recovery_seconds=300)
    breaker = database_breaker(settings)
    assert breaker is not None

    async def outage() -> None:
        raise ConnectionRefusedError(111, "refused")

    async def scenario() -> None:
        async with _engine(settings, breaker) as engine:
            for _ in range(2):  # as if the server had refused twice
                with pytest.raises(ConnectionRefusedError):
                    await breaker.call(outage)
            assert _state(breaker) == "open"
            started = time.perf_counter()
            with pytest.raises(DatabaseBreakerOpenError) as refused:
                await _select_one(engine)
            assert time.perf_counter() - started < FAST_SECONDS
            assert 299 <= refused.value.retry_after_seconds <= 300
            # Readiness asks the server itself: it answers, so the breaker closes for everyone at once.
            await database_check(engine)()
            assert _state(breaker) == "closed"
            await _select_one(engine)

    asyncio.run(scenario())


# ---- a database that cannot be reached -------------------------------------------------------------------------


def test_refused_connections_open_the_breaker_which_then_refuses_at_once_with_the_remaining_time(
    tmp_path: Path,
) -> None:
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/charter"  # nothing listens: refused
    settings = _settings(tmp_path, url, db_breaker_failure_threshold=3, db_breaker_recovery_seconds=30)
    breaker = database_breaker(settings)
    assert breaker is not None

    async def scenario() -> None:
        async with _engine(settings, breaker) as engine:
            for _ in range(3):
                with pytest.raises(DatabaseUnavailableError) as failed:
                    await _select_one(engine)
                assert isinstance(failed.value.__cause__, ConnectionRefusedError)
            assert _state(breaker) == "open"
            started = time.perf_counter()
            with pytest.raises(DatabaseBreakerOpenError) as refused:
                await _select_one(engine)
            assert time.perf_counter() - started < FAST_SECONDS
            response = await handle_database_unavailable(_request(), refused.value)
            assert response.status_code == 503
            assert 29 <= int(response.headers["Retry-After"]) <= 30
            # A health check still tries (and fails, and keeps the breaker open).
            with pytest.raises(DatabaseUnavailableError):
                await database_check(engine)()
            assert _state(breaker) == "open"

    asyncio.run(scenario())


def test_a_hung_server_costs_one_connect_timeout_per_attempt_then_nothing(tmp_path: Path) -> None:
    with _silent_server() as port:
        url = f"postgresql+asyncpg://postgres@127.0.0.1:{port}/charter"
        settings = _settings(
            tmp_path,
            url,
            db_connect_timeout_seconds=0.3,
            db_breaker_failure_threshold=2,
            db_breaker_recovery_seconds=30,
        )
        breaker = database_breaker(settings)
        assert breaker is not None

        async def scenario() -> None:
            async with _engine(settings, breaker) as engine:
                for _ in range(2):
                    started = time.perf_counter()
                    with pytest.raises(DatabaseConnectTimeoutError) as timed_out:
                        await _select_one(engine)
                    assert 0.25 <= time.perf_counter() - started < 3
                    response = await handle_database_unavailable(_request(), timed_out.value)
                    assert (response.status_code, response.headers["Retry-After"]) == (503, "2")
                assert _state(breaker) == "open"
                started = time.perf_counter()
                with pytest.raises(DatabaseBreakerOpenError):
                    await _select_one(engine)
                assert time.perf_counter() - started < FAST_SECONDS

        asyncio.run(scenario())
