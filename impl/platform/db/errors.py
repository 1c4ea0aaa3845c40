"""A database that is down or overloaded answers 503 with Retry-After, never 500."""

from __future__ import annotations

from fastapi import FastAPI, Request
from sqlalchemy import exc as sa_exc
from starlette.responses import Response

from impl.platform.problems import problem

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


async def handle_database_unavailable(request: Request, exc: Exception) -> Response:
    return problem(
        503,
        detail="The database is unavailable; retry shortly.",
        instance=request.url.path,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def install_database_error_handlers(app: FastAPI) -> None:
    for exception_type in UNAVAILABLE:
        app.add_exception_handler(exception_type, handle_database_unavailable)
