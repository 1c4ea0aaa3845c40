"""How the engine opens PostgreSQL connections: through the database's circuit breaker, with a connect timeout and a
server-side statement timeout.

The breaker guards *opening* a connection, the one step every request takes when the server is gone: the pool
pre-pings a pooled connection at checkout, finds it dead, and connects anew. So only connection-level failures
(refused, reset, timed out, "the database is starting up", too many connections) count; a query's error (a unique
violation, a statement timeout) happens on an open connection and never touches it. Once it is open, a request
fails at once with :class:`DatabaseBreakerOpenError` (503, Retry-After = the rest of the open time) instead of each
waiting for its own connect timeout.

Health checks must see the database itself, not the breaker's memory of it: inside :func:`probing` a connection is
opened through :meth:`DependencyBreaker.probe`, so /readyz and /health/detailed try the server even while the
breaker is open, and their success closes it for every request.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any

import asyncpg
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from impl.platform.circuit_breaker import BreakerOpenError, DependencyBreaker
from impl.platform.db.errors import (
    UNAVAILABLE_SQLSTATE_PREFIXES,
    DatabaseBreakerOpenError,
    DatabaseConnectTimeoutError,
    DatabaseUnavailableError,
)

# Set by a health check for the duration of its query (a context variable: per task, so a request running beside it
# still goes through the breaker).
_probing: ContextVar[bool] = ContextVar("charter_database_probe", default=False)

AsyncCreator = Callable[[], Awaitable[Any]]
# URL query options meant for SQLAlchemy's asyncpg dialect, not for asyncpg.connect.
_DIALECT_OPTIONS = frozenset({"prepared_statement_cache_size", "prepared_statement_name_func", "async_fallback"})


@contextlib.contextmanager
def probing() -> Iterator[None]:
    """Connections opened inside the block try the server even while the breaker is open (health checks)."""
    token = _probing.set(True)
    try:
        yield
    finally:
        _probing.reset(token)


def is_database_outage(error: BaseException) -> bool:
    """Whether a connection attempt failed because the server cannot be reached or cannot serve now."""
    sqlstate = getattr(error, "sqlstate", None)
    if isinstance(sqlstate, str):
        # 08 connection exception, 53 insufficient resources, 57P shutdown / starting up; anything else (a wrong
        # password, an unknown database) is an answer: the server is up, the configuration is wrong.
        return sqlstate.startswith(UNAVAILABLE_SQLSTATE_PREFIXES)
    # OSError covers refused, reset and unreachable, and TimeoutError (the connect timeout).
    return isinstance(error, OSError)


def connect_arguments(url: URL, *, connect_timeout_seconds: float, statement_timeout_seconds: float) -> dict[str, Any]:
    """asyncpg.connect's keyword arguments: the URL's (as SQLAlchemy's dialect reads it) and the two timeouts."""
    _args, params = url.get_dialect()().create_connect_args(url)
    unsupported = sorted(params.keys() & _DIALECT_OPTIONS)
    if unsupported:
        # The dialect reads these itself when it connects; our own connection factory would hand them to asyncpg,
        # which refuses them on every connect. Refused here, at start-up, instead.
        raise ValueError(f"DATABASE_URL options not supported here: {', '.join(unsupported)}")
    server_settings = dict(params.pop("server_settings", None) or {})
    # Server-side: PostgreSQL cancels the statement itself (SQLSTATE 57014, answered 504), the transaction rolls
    # back and the connection stays usable. The value is in milliseconds.
    server_settings["statement_timeout"] = str(round(statement_timeout_seconds * 1000))
    return {**params, "timeout": connect_timeout_seconds, "server_settings": server_settings}


def guarded_creator(
    *, breaker: DependencyBreaker, arguments: dict[str, Any], connect: Callable[..., Awaitable[Any]] = asyncpg.connect
) -> AsyncCreator:
    """The engine's ``async_creator``: ``connect(**arguments)`` through ``breaker`` (see the module docstring)."""

    async def create_connection() -> Any:
        try:
            if _probing.get():
                return await breaker.probe(connect, **arguments)
            return await breaker.call(connect, **arguments)
        except BreakerOpenError as error:
            raise DatabaseBreakerOpenError(retry_after_seconds=error.retry_after_seconds) from error
        except TimeoutError as error:
            # asyncpg's own connect timeout (a deadline around this call, such as the request budget, cancels
            # instead and never arrives here as TimeoutError). Raw, it would be indistinguishable from a bug.
            raise DatabaseConnectTimeoutError(timeout_seconds=arguments["timeout"]) from error
        except OSError as error:
            # Refused, reset, unreachable, a name that does not resolve: one kind of answer (503) for all of them.
            raise DatabaseUnavailableError(f"cannot connect to the database: {error}") from error

    return create_connection


def database_check(engine: AsyncEngine) -> Callable[[], Awaitable[None]]:
    """The readiness check: a real round trip to the database (a pooled connection, pre-pinged, or a new one opened
    past an open breaker, see :func:`probing`)."""

    async def check() -> None:
        with probing():
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))

    return check
