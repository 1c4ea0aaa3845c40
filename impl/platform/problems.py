"""RFC 9457 problem+json: the one shape of every error the service answers, and the handlers that produce it.

Services raise :class:`ProblemError` subclasses (domain exceptions); framework errors (404, 405, 413, 415, 422,
500) arrive as Starlette/FastAPI exceptions. Both end up here, so no error can leave in another shape.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from types import MappingProxyType
from typing import Any, ClassVar, Protocol
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.responses import Response

PROBLEM_MEDIA_TYPE = "application/problem+json"
logger = logging.getLogger("charter.problems")
# RFC 9110's names where Python's http.HTTPStatus (before 3.13) still has the older ones.
TITLES = {413: "Content Too Large", 416: "Range Not Satisfiable", 422: "Unprocessable Content"}
NO_HEADERS: Mapping[str, Any] = MappingProxyType({})


class ProblemResponse(Response):
    media_type = PROBLEM_MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def instance_of(path: str) -> str:
    """The request path as a URI reference: percent-encoded, as RFC 9457's ``instance`` member requires."""
    # The path is already percent-decoded, so a literal '%' in it is encoded again (as %25), never left bare.
    return quote(path, safe="/:@!$&'()*+,;=-._~")


def problem(
    status: int,
    *,
    detail: str,
    instance: str,
    title: str | None = None,
    headers: Mapping[str, str] | None = None,
    extensions: Mapping[str, Any] | None = None,
) -> ProblemResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": title or TITLES.get(status) or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance_of(instance),
    }
    if extensions:
        body.update(extensions)
    return ProblemResponse(body, status_code=status, headers=dict(headers) if headers else None)


class ProblemError(Exception):
    """Base of every domain exception; subclasses set ``status`` (and may add headers and extension members)."""

    status: ClassVar[int] = 500
    title: ClassVar[str | None] = None

    def __init__(
        self,
        detail: str,
        *,
        headers: Mapping[str, str] | None = None,
        extensions: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = dict(headers or {})
        self.extensions = dict(extensions or {})


class InvalidRequestError(ProblemError):
    """A request that passes the schema's types but breaks one of its rules that Pydantic cannot express."""

    status = 422

    def __init__(self, detail: str, *, errors: list[dict[str, str]]) -> None:
        super().__init__(detail, extensions={"errors": errors})


def refuse_explicit_nulls(body: BaseModel, *, what: str) -> None:
    """422 for members sent as JSON null. The generated models type optional members as ``X | None`` (absent),
    but the spec allows null for none of them: "may be omitted" is not "may be null"."""
    nulls = sorted(name for name in body.model_fields_set if getattr(body, name) is None)
    if nulls:
        raise InvalidRequestError(
            f"No field of {what} can be null; omit a member instead.",
            errors=[{"detail": "Input should not be null", "pointer": f"#/{name}"} for name in nulls],
        )


def require_members(body: BaseModel, *, fields: str) -> None:
    """422 for an empty merge patch (`minProperties: 1`): a patch must change something."""
    if not body.model_fields_set:
        raise InvalidRequestError(
            "A merge patch needs at least one member.",
            errors=[{"detail": f"Send at least one of {fields}.", "pointer": "#"}],
        )


def _message(error: Mapping[str, Any]) -> str:
    """Pydantic's message, except where it describes a string as a sequence.

    A ``SecretStr`` (passwords) is length-checked as a generic value: "at least 15 items after validation"; the
    same words as for a plain string are given instead.
    """
    kind, ctx = error.get("type"), error.get("ctx") or {}
    if kind in ("too_short", "too_long") and isinstance(error.get("input"), str) and ctx.get("field_type") == "Value":
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        least = "at least" if kind == "too_short" else "at most"
        return f"String should have {least} {bound} character{'' if bound == 1 else 's'}"
    return str(error.get("msg", "Invalid value"))


def _validation_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Every validation error, located by a JSON Pointer into the body or by the parameter/header name.

    The offending input itself is never echoed: it may be a password or a token.
    """
    located = []
    for error in errors:
        location = tuple(error.get("loc", ()))
        source, path = (location[0], location[1:]) if location else ("body", ())
        item = {"detail": _message(error)}
        if source == "body":
            if error.get("type") == "json_invalid":
                path = ()  # FastAPI puts the character offset here, not a member name
                # FastAPI's message is always "JSON decode error"; the parser's own says what was wrong.
                item["detail"] = str((error.get("ctx") or {}).get("error") or item["detail"])
            escaped = (str(part).replace("~", "~0").replace("/", "~1") for part in path)
            item["pointer"] = "#/" + "/".join(escaped) if path else "#"
        elif source == "header":
            item["header"] = str(path[0]) if path else ""
        else:
            item["parameter"] = str(path[0]) if path else ""
        located.append(item)
    return located


class HeaderCheck(Protocol):
    """An operation's header parameters (generated/api/header_parameters.py): the errors of the invalid ones."""

    def errors(self, request: Request) -> list[dict[str, Any]]: ...


class ValidationProblems:
    """The 400/422 answer to a request FastAPI refused, naming every invalid field.

    ``header_parameters`` (each operation's header checks, by operationId) covers the headers the routes read
    themselves: FastAPI refuses other parameters before the route runs, and the answer names the headers too.
    """

    def __init__(self, header_parameters: Mapping[str, HeaderCheck]) -> None:
        self.header_parameters = header_parameters

    def _header_errors(self, request: Request, exc: RequestValidationError) -> list[dict[str, Any]]:
        if getattr(exc, "headers_checked", False):  # raised by the route's own header check: already listed
            return []
        route = request.scope.get("route")
        check = self.header_parameters.get(route.operation_id or "") if isinstance(route, APIRoute) else None
        return check.errors(request) if check is not None else []

    async def __call__(self, request: Request, exc: Exception) -> Response:
        if not isinstance(exc, RequestValidationError):  # registered for this type only
            raise exc
        raw = [*exc.errors(), *self._header_errors(request, exc)]
        errors = _validation_errors(raw)
        if any(e.get("type") == "json_invalid" for e in raw):
            detail = "The request body is not valid JSON."
            return problem(400, detail=detail, instance=request.url.path, extensions={"errors": errors})
        count = len(errors)
        detail = f"The request has {count} invalid field{'s' if count != 1 else ''}."
        return problem(422, detail=detail, instance=request.url.path, extensions={"errors": errors})


# Routes that only refuse methods (impl/platform/shadowed_paths.py): they never count as allowing one.
METHOD_GUARD_ROUTE = "charter:method-guard"


def _allowed_methods(request: Request) -> str:
    """Every method any route serves on this path: Starlette's own 405 names only the first route's methods.

    Routes of exactly this path win over templated ones that also match it (`/users/export` is not
    `/users/{user_id}`).
    """
    path = request.scope["path"]
    exact: set[str] = set()
    matching: set[str] = set()
    for context in iter_route_contexts(request.app.routes):
        if getattr(context.route, "name", None) == METHOD_GUARD_ROUTE:
            continue
        regex, route_methods = getattr(context, "path_regex", None), context.methods
        if regex is not None and route_methods and regex.match(path):
            matching |= route_methods
            if getattr(context.route, "path", None) == path:
                exact |= route_methods
    return ", ".join(sorted(exact or matching))


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for this type only
        raise exc
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = _allowed_methods(request)
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase else None
    if detail is None:
        detail = {
            404: f"No resource at {request.url.path}.",
            405: f"{request.method} is not allowed on {request.url.path}; allowed: {headers.get('Allow', 'none')}.",
        }.get(exc.status_code, HTTPStatus(exc.status_code).description or HTTPStatus(exc.status_code).phrase)
    return problem(exc.status_code, detail=detail, instance=request.url.path, headers=headers)


async def handle_problem_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, ProblemError):  # registered for this type only
        raise exc
    return problem(
        exc.status,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        headers=exc.headers,
        extensions=exc.extensions,
    )


async def handle_unexpected_error(request: Request, exc: Exception) -> Response:
    # The traceback goes to the log (uvicorn also logs it); the client gets nothing of it.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem(
        500,
        detail="An unexpected error occurred. Quote the request ID when reporting it.",
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI, *, header_parameters: Mapping[str, HeaderCheck] = NO_HEADERS) -> None:
    """``header_parameters``: the generated routes' ``HEADER_PARAMETERS``; an app without such routes needs none."""
    app.add_exception_handler(RequestValidationError, ValidationProblems(header_parameters))
    app.add_exception_handler(HTTPException, handle_http_exception)
    app.add_exception_handler(ProblemError, handle_problem_error)
    app.add_exception_handler(Exception, handle_unexpected_error)
