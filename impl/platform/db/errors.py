"""A database that is down or overloaded answers 503 with Retry-After, one too slow answers 504; never 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from sqlalchemy import exc as sa_exc
from starlette.responses import Response

from impl.platform.problems import handle_unexpected_error, problem

RETRY_AFTER_SECONDS = 2
# Connection refused, dropped, timed out, or no pooled connection free in time. Integrity and programming errors
# are not here: those are bugs or domain conflicts, handled elsewhere.
UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.DisconnectionError,
    sa_exc.TimeoutError,
    ConnectionRefusedError,
    ConnectionResetError,
)
# Drivers map some "cannot serve now" states to a plain DBAPIError, so those are told apart by SQLSTATE class:
# 08 connection exception, 53 insufficient resources (too many connections), 57P operator intervention (shutdown,
# and "not yet accepting connections" while PostgreSQL recovers from a crash).
UNAVAILABLE_SQLSTATE_PREFIXES = ("08", "53", "57P")
# query_canceled: here, the server's statement_timeout (DB_STATEMENT_TIMEOUT_SECONDS) ended the statement.
STATEMENT_TIMEOUT_SQLSTATE = "57014"


class DatabaseUnavailableError(Exception):
    """No connection could be opened (raised by the engine's connection factory, see impl/platform/db/connect.py)."""

    def __init__(self, message: str, *, retry_after_seconds: int = RETRY_AFTER_SECONDS) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class DatabaseBreakerOpenError(DatabaseUnavailableError):
    """The database's circuit breaker is open: no connection was even tried."""

    def __init__(self, *, retry_after_seconds: int) -> None:
        super().__init__(
            f"the database circuit breaker is open; retry in {retry_after_seconds} s",
            retry_after_seconds=retry_after_seconds,
        )


class DatabaseConnectTimeoutError(DatabaseUnavailableError):
    """The server did not complete a connection within DB_CONNECT_TIMEOUT_SECONDS."""

    def __init__(self, *, timeout_seconds: float) -> None:
        super().__init__(f"no connection to the database within {timeout_seconds:g} s")


async def handle_database_unavailable(request: Request, exc: Exception) -> Response:
    retry_after = exc.retry_after_seconds if isinstance(exc, DatabaseUnavailableError) else RETRY_AFTER_SECONDS
    return problem(
        503,
        detail="The database is unavailable; retry shortly.",
        instance=request.url.path,
        headers={"Retry-After": str(retry_after)},
    )


async def handle_statement_timeout(request: Request, exc: Exception) -> Response:
    # 504, like the request budget: the work was abandoned (its transaction rolled back), and retrying the same
    # request at once would most likely time out again.
    return problem(504, detail="The database did not finish the request's query in time.", instance=request.url.path)


async def handle_database_error(request: Request, exc: Exception) -> Response:
    """Any other DBAPIError: 503 when its SQLSTATE says the server cannot serve now, 504 for a statement timeout,
    else the plain 500."""
    original = getattr(exc, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)
    if sqlstate == STATEMENT_TIMEOUT_SQLSTATE:
        return await handle_statement_timeout(request, exc)
    if (
        (isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATE_PREFIXES))
        or getattr(exc, "connection_invalidated", False)
        # asyncpg's protocol state is left corrupt when the server vanishes mid-operation (sqlalchemy#13241).
        or type(original).__name__ == "InternalClientError"
    ):
        return await handle_database_unavailable(request, exc)
    return await handle_unexpected_error(request, exc)


def install_database_error_handlers(app: FastAPI) -> None:
    for exception_type in (*UNAVAILABLE, DatabaseUnavailableError):
        app.add_exception_handler(exception_type, handle_database_unavailable)
    # Its subclasses above keep their own handler (the most specific class wins); IntegrityError etc. get the 500.
    app.add_exception_handler(sa_exc.DBAPIError, handle_database_error)
