"""A database that is down or overloaded answers 503 with Retry-After, never 500."""

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


async def handle_database_unavailable(request: Request, exc: Exception) -> Response:
    return problem(
        503,
        detail="The database is unavailable; retry shortly.",
        instance=request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def handle_database_error(request: Request, exc: Exception) -> Response:
    """Any other DBAPIError: 503 when its SQLSTATE says the server cannot serve now, else the plain 500."""
    original = getattr(exc, "orig", None)
    sqlstate = getattr(original, "sqlstate", None)
    if (
        (isinstance(sqlstate, str) and sqlstate.startswith(UNAVAILABLE_SQLSTATE_PREFIXES))
        or getattr(exc, "connection_invalidated", False)
        # asyncpg's protocol state is left corrupt when the server vanishes mid-operation (sqlalchemy#13241).
        or type(original).__name__ == "InternalClientError"
    ):
        return await handle_database_unavailable(request, exc)
    return await handle_unexpected_error(request, exc)


def install_database_error_handlers(app: FastAPI) -> None:
    for exception_type in UNAVAILABLE:
        app.add_exception_handler(exception_type, handle_database_unavailable)
    # Its subclasses above keep their own handler (the most specific class wins); IntegrityError etc. get the 500.
    app.add_exception_handler(sa_exc.DBAPIError, handle_database_error)
