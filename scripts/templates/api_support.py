"""Run-time support shared by the generated routers (copied verbatim by scripts/generate_api.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from fastapi import HTTPException, Request, Response

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Reply(Generic[T]):
    """A handler's result with response headers (ETag, Location, Retry-After, ...) or a non-default status.

    Handlers return the bare model when they need neither, which keeps FastAPI's fastest serialisation path.
    """

    body: T
    headers: Mapping[str, str] = field(default_factory=dict)
    status_code: int | None = None


def unwrap(result: T | Reply[T], response: Response) -> T:
    """Move a Reply's headers and status onto FastAPI's response and hand back the body to serialise."""
    if isinstance(result, Reply):
        response.headers.update(result.headers)
        if result.status_code is not None:
            response.status_code = result.status_code
        return result.body
    return result


def empty_response(result: object, status_code: int) -> Response:
    """The answer of an operation without a body (HEAD, 204): status and headers only."""
    if isinstance(result, Reply):
        return Response(status_code=result.status_code or status_code, headers=dict(result.headers))
    return Response(status_code=status_code)


def require_content_type(media_types: tuple[str, ...]) -> Callable[[Request], Awaitable[None]]:
    """A route dependency answering 415 when a request body's media type is not one the spec declares."""
    accepted = frozenset(media_types)
    listed = ", ".join(media_types)

    async def check(request: Request) -> None:
        content_type = request.headers.get("content-type")
        if content_type is None:
            if request.headers.get("content-length", "0") in ("", "0") and "transfer-encoding" not in request.headers:
                return  # no body at all: the body's own validation says whether one is required
            raise HTTPException(415, f"The request body needs a Content-Type; this operation accepts {listed}.")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in accepted:
            raise HTTPException(415, f"Unsupported media type {media_type!r}; this operation accepts {listed}.")

    return check
