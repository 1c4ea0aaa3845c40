"""Run-time support shared by the generated routers (copied verbatim by scripts/generate_api.py)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Generic, Protocol, TypeVar
from uuid import UUID

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BeforeValidator, Field, TypeAdapter, ValidationError

T = TypeVar("T")
# Statuses that never carry a body (RFC 9110): a Reply with one of them is sent as headers only.
BODILESS_STATUSES = frozenset({204, 304})


@dataclass(frozen=True, slots=True)
class Reply(Generic[T]):
    """A handler's result with response headers (ETag, Location, Retry-After, ...) or a non-default status.

    Handlers return the bare model when they need neither, which keeps FastAPI's fastest serialisation path.
    """

    body: T
    headers: Mapping[str, str] = field(default_factory=dict)
    status_code: int | None = None


_RFC3339_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_RFC3339_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _rfc3339_date_time(value: Any) -> Any:
    # Pydantic's lax mode would also take "0.5" or "1700000000" as a date-time (a Unix time); the spec says RFC 3339.
    if isinstance(value, str) and not _RFC3339_DATE_TIME.fullmatch(value):
        raise ValueError("Input should be an RFC 3339 date-time with a time zone, e.g. 2026-11-28T10:00:00Z")
    return value


def _rfc3339_date(value: Any) -> Any:
    if isinstance(value, str) and not _RFC3339_DATE.fullmatch(value):
        raise ValueError("Input should be an RFC 3339 full-date, e.g. 2026-11-28")
    return value


# The types of `format: date-time` and `format: date` parameters.
RFC3339DateTime = Annotated[datetime, BeforeValidator(_rfc3339_date_time)]
RFC3339Date = Annotated[date, BeforeValidator(_rfc3339_date)]


def unwrap(result: T | Reply[T], response: Response) -> T | Response:
    """Move a Reply's headers and status onto FastAPI's response and hand back the body to serialise."""
    if isinstance(result, Reply):
        if result.status_code in BODILESS_STATUSES:
            return Response(status_code=result.status_code, headers=dict(result.headers))
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


class HeaderParameters:
    """An operation's header parameters (optional strings), read straight from the request and validated with the
    spec's constraints by pydantic, as FastAPI validates ``Header`` parameters: the same errors, the same 422.

    Declared as ``Header`` parameters, FastAPI works out each one's shape again on every request; for a user read's
    two conditional headers that was a tenth of the request (an in-process profile). When another parameter is
    invalid too, FastAPI answers before the route runs: the error handler then asks :meth:`errors` (it receives
    ``HEADER_PARAMETERS``, these objects by operationId), so one 422 still names every invalid field.
    """

    def __init__(self, *headers: tuple[str, dict[str, Any]]) -> None:
        self.aliases = tuple(alias for alias, _ in headers)
        self._positions = {alias.lower().encode("latin-1"): n for n, alias in enumerate(self.aliases)}
        self._adapters = tuple(TypeAdapter(Annotated[str, Field(**constraints)]) for _, constraints in headers)

    def _raw(self, request: Request) -> list[str | None]:
        values: list[str | None] = [None] * len(self.aliases)
        positions = self._positions
        for name, value in request.scope["headers"]:  # the first of each counts, as with Starlette's Headers.get
            position = positions.get(name)
            if position is not None and values[position] is None:
                values[position] = value.decode("latin-1")
        return values

    def errors(self, request: Request) -> list[dict[str, Any]]:
        """Pydantic's errors for the invalid ones, located as FastAPI locates them: ``("header", alias)``."""
        found: list[dict[str, Any]] = []
        for alias, adapter, value in zip(self.aliases, self._adapters, self._raw(request), strict=True):
            if value is None:
                continue
            try:
                adapter.validate_python(value)
            except ValidationError as error:
                found += [{**e, "loc": ("header", alias)} for e in error.errors(include_url=False)]
        return found

    def read(self, request: Request) -> tuple[str | None, ...]:
        """Each header's value (None when absent), in declaration order; 422 when one breaks its constraints."""
        values = self._raw(request)
        for adapter, value in zip(self._adapters, values, strict=True):
            if value is not None:
                try:
                    adapter.validate_python(value)
                except ValidationError:
                    raise HeaderValidationError(self.errors(request)) from None
        return tuple(values)


class HeaderValidationError(RequestValidationError):
    """Invalid headers found by the route itself: every other parameter was valid (the handler adds nothing)."""

    headers_checked = True


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the verified access token's subject, role and identifiers."""

    subject: UUID
    role: str
    token_id: str  # the access token's `jti`, which logout revokes
    family_id: str  # the login session (refresh-token family) the token belongs to
    expires_at: int  # the access token's `exp`, in seconds since the epoch


class Guard(Protocol):
    """Builds each operation's access dependency from the spec's `security`, `x-roles`, `x-self-only` and
    `x-rate-limit`. Implemented in impl/; called once per operation when the router is built."""

    def authorize(
        self, *, operation_id: str, roles: frozenset[str], self_only: frozenset[str], rate_limit: str | None
    ) -> Callable[..., Awaitable[Principal]]:
        """A dependency answering 401 (no valid access token), 429, 403 (role not allowed) or 404 (a self-only
        role on someone else's `user_id`), and otherwise the caller."""
        ...

    def admit(self, *, operation_id: str, rate_limit: str) -> Callable[..., Awaitable[None]]:
        """A dependency for a public operation: counts the request against its rate-limit policy (429)."""
        ...


@dataclass(frozen=True, slots=True)
class Deprecation:
    """A `deprecated: true` operation's announcement (from `x-deprecated-at`, `x-sunset` and the optional
    `x-deprecation-link` and `x-sunset-link`): the dates in Unix seconds, which impl/ turns into the `Deprecation`
    (RFC 9745) and `Sunset` (RFC 8594) headers and their `Link`s."""

    deprecated_at: int
    sunset: int
    deprecation_link: str | None = None
    sunset_link: str | None = None
