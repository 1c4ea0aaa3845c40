"""Run-time support shared by the generated routers (copied verbatim by scripts/generate_api.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Annotated, Any, Generic, Protocol, TypeVar
from uuid import UUID

from fastapi import HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, Field, TypeAdapter, ValidationError

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)
FORM_MEDIA = "application/x-www-form-urlencoded"
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


def unwrap(result: T | Reply[T] | Response, response: Response) -> T | Response:
    """Move a Reply's headers and status onto FastAPI's response and hand back the body to serialise (or the
    handler's own Response, for a success that may be JSON or another media type, as it is)."""
    if isinstance(result, Reply):
        if result.status_code in BODILESS_STATUSES:
            return Response(status_code=result.status_code, headers=dict(result.headers))
        response.headers.update(result.headers)
        if result.status_code is not None:
            response.status_code = result.status_code
        return result.body
    return result


def content_length(body: BaseModel) -> str:
    """The Content-Length of ``body`` as the generated routes send it (JSON, unset members left out).

    A HEAD handler sends its GET twin's (RFC 9110 §9.3.2); a HEAD answer must never name another length (§8.6).
    """
    return str(len(body.__pydantic_serializer__.to_json(body, exclude_unset=True, by_alias=True)))


def empty_response(result: object, status_code: int) -> Response:
    """The answer of an operation without a body (HEAD, 204): status and headers only."""
    if isinstance(result, Reply):
        return Response(status_code=result.status_code or status_code, headers=dict(result.headers))
    return Response(status_code=status_code)


def refuse_content_coding(request: Request) -> None:
    """415 for a compressed body (RFC 9110 §15.5.16): read as plain it would be garbage. RFC 7694's
    ``Accept-Encoding`` says what would do."""
    encoding = request.headers.get("content-encoding")
    if encoding is not None and encoding.strip().lower() not in ("", "identity"):
        raise HTTPException(
            415,
            f"Content-Encoding {encoding.strip()!r} is not accepted; send the body uncompressed.",
            headers={"Accept-Encoding": "identity"},
        )


def require_content_type(media_types: tuple[str, ...]) -> Callable[[Request], Awaitable[None]]:
    """A route dependency answering 415 when a request body's media type is not one the spec declares, or when the
    body is compressed (``Content-Encoding``), which no operation accepts."""
    accepted = frozenset(media_types)
    listed = ", ".join(media_types)

    async def check(request: Request) -> None:
        refuse_content_coding(request)
        content_type = request.headers.get("content-type")
        if content_type is None:
            if request.headers.get("content-length", "0") in ("", "0") and "transfer-encoding" not in request.headers:
                return  # no body at all: the body's own validation says whether one is required
            raise HTTPException(415, f"The request body needs a Content-Type; this operation accepts {listed}.")
        media_type = content_type.split(";", 1)[0].strip().lower()
        if media_type not in accepted:
            raise HTTPException(415, f"Unsupported media type {media_type!r}; this operation accepts {listed}.")

    return check


def strict_json(body: bytes) -> Any:
    """A JSON body as RFC 8259 defines one exchanged between systems: UTF-8 (§8.1), no member twice (§4).

    ``json.loads`` would guess UTF-16 or UTF-32 from the bytes and keep the last of two equal names, so two
    readers of the same body (a proxy, a log, this service) could see different documents. Each refusal is a
    ``json.JSONDecodeError``, which FastAPI (and :func:`json_or_form_body`) answer as malformed JSON (400).
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise json.JSONDecodeError("The body is not UTF-8", body.decode("latin-1"), error.start) from None
    return json.loads(text, object_pairs_hook=_unique_members(text))


def _unique_members(text: str) -> Callable[[list[tuple[str, Any]]], dict[str, Any]]:
    def members(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        found = dict(pairs)
        if len(found) != len(pairs):
            names = [name for name, _ in pairs]
            twice = next(name for name in names if names.count(name) > 1)
            raise json.JSONDecodeError(f"The member {twice!r} appears more than once", text, 0)
        return found

    return members


class StrictJsonRequest(Request):
    """A request whose JSON body is read by :func:`strict_json`; FastAPI's body reading calls ``json()``."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = strict_json(await self.body())
        return self._json


class StrictJsonRoute(APIRoute):
    """The generated routes: one with a body FastAPI reads refuses a compressed one first, and reads JSON from a
    StrictJsonRequest; any other is FastAPI's own (and costs nothing more per request)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None:
            return handler

        async def strict(request: Request) -> Response:
            # FastAPI reads the body before any dependency runs, so require_content_type would come too late.
            refuse_content_coding(request)
            return await handler(StrictJsonRequest(request.scope, request.receive))

        return strict


def json_or_form_body(model: type[M]) -> Callable[[Request], Awaitable[M]]:
    """The body of an operation taking JSON or the same members as a form (OAuth2's token requests, RFC 6749 §6).

    FastAPI reads a body as one or the other; this dependency reads it by its media type (``require_content_type``
    has already refused any other) and validates it with the same model, errors located in the body as FastAPI
    locates them. A form member sent twice is refused, as RFC 6749 §3.2 requires.
    """

    async def read(request: Request) -> M:
        media_type = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
        data: Any
        if media_type == FORM_MEDIA:
            pairs = (await request.form()).multi_items()
            data = dict(pairs)
            if len(data) != len(pairs):
                twice = sorted({name for name, _ in pairs if [n for n, _ in pairs].count(name) > 1})
                raise RequestValidationError(
                    [{"type": "value_error", "loc": ("body", name), "msg": "Sent more than once"} for name in twice]
                )
        else:
            try:
                data = strict_json(await request.body())
            except json.JSONDecodeError as error:
                raise RequestValidationError(
                    [{"type": "json_invalid", "loc": ("body", error.pos), "msg": error.msg, "input": {}}]
                ) from None
        try:
            return model.model_validate(data)
        except ValidationError as error:
            errors = error.errors(include_url=False)
            raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in errors]) from None

    return read


class HeaderParameters:
    """An operation's header parameters (optional strings), read straight from the request and validated with the
    spec's constraints by pydantic, as FastAPI validates ``Header`` parameters: the same errors, the same 422.

    Declared as ``Header`` parameters, FastAPI works out each one's shape again on every request; for a user read's
    two conditional headers that was a tenth of the request (docs/performance.md#header-parameters). When another
    parameter is invalid too, FastAPI answers before the route runs: the error handler then asks :meth:`errors`
    (it receives ``HEADER_PARAMETERS``, these objects by operationId), so one 422 still names every invalid field.
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
