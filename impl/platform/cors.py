"""The CORS policy: which browser origins may call the API, with which headers, derived from the spec.

Development, tests and the mock (APP_ENV=mock, for frontends served from localhost) are open to any origin, but
without credentials, so a page elsewhere can never ride on a user's browser session (the API's bearer tokens need
none). Anywhere else CORS is an explicit allow-list: only those origins are echoed in
``Access-Control-Allow-Origin`` and may send credentials; a foreign origin gets no ``Access-Control-Allow-Origin``
and the browser withholds the response. Staging or prod without an allow-list has no CORS at all (same-origin only).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.types import Receive, Scope, Send

from impl.platform.problems import problem
from impl.platform.spec_headers import SpecHeaders

OPEN_ENVIRONMENTS = frozenset({"dev", "test", "mock"})
WILDCARD = "*"
ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# Request headers every operation may read that the spec does not list as parameters: the bearer token (a security
# scheme), the body's media type, and the request ID the service echoes (its info section says so).
ALWAYS_ALLOWED_HEADERS = ("Authorization", "Content-Type", "X-Request-ID")
MAX_AGE_SECONDS = 600
# A browser's Origin is scheme://host[:port], lower case, with no path; CORSMiddleware compares strings exactly,
# so "https://app.example/" or "https://App.example" in the list would silently never match.
ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s A-Z]+")


def cors_options(*, app_env: str, allow_origins: Sequence[str], headers: SpecHeaders) -> dict[str, Any] | None:
    """Keyword arguments for ``CORSMiddleware(app, **options)``, or ``None`` when the app must not answer CORS.

    Credentials are allowed only with an explicit allow-list: never together with the ``*`` wildcard, which
    Starlette would otherwise turn into echoing every origin with credentials. ``headers``, from the loaded spec,
    decides what a browser may send (every header parameter, besides :data:`ALWAYS_ALLOWED_HEADERS`) and what a
    script may read (every declared response header; the CORS-safelisted ones need no listing but do no harm).
    """
    origins = [origin.strip() for origin in allow_origins if origin.strip()]
    for origin in origins:
        if origin != WILDCARD and not ORIGIN.fullmatch(origin):
            raise ValueError(f"CORS origin {origin!r} is not of the form scheme://host[:port] in lower case")
    if not origins:
        if app_env not in OPEN_ENVIRONMENTS:
            return None
        origins = [WILDCARD]
    wildcard = WILDCARD in origins
    return {
        "allow_origins": [WILDCARD] if wildcard else origins,
        "allow_credentials": not wildcard,
        "allow_methods": list(ALLOW_METHODS),
        "allow_headers": allowed_request_headers(headers),
        "expose_headers": list(headers.response),
        "max_age": MAX_AGE_SECONDS,
    }


def allowed_request_headers(headers: SpecHeaders) -> list[str]:
    names = {name.lower(): name for name in (*ALWAYS_ALLOWED_HEADERS, *headers.request)}
    return sorted(names.values(), key=str.lower)


class ProblemCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, whose refused preflight is a problem document like every other error (not ``text/plain``).

    Starlette answers a preflight before any route, so the app's problem handlers never see it. A refusal keeps
    Starlette's status (400) and names what was refused (origin, method, headers); the browser reads neither, but
    a developer looking at the network tab does. Everything else is Starlette's.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            headers = Headers(scope=scope)
            if "origin" in headers and "access-control-request-method" in headers:
                answer = self.preflight_response(request_headers=headers)
                if answer.status_code >= 400:
                    refused = bytes(answer.body).decode("latin-1").removeprefix("Disallowed CORS ")
                    answer = problem(
                        answer.status_code,
                        title="CORS Preflight Refused",
                        detail=f"This cross-origin request is not allowed: its {refused} (see Access-Control-Allow-*).",
                        instance=scope["path"],
                        headers={
                            name: value
                            for name, value in answer.headers.items()
                            if name.lower().startswith("access-control-") or name.lower() == "vary"
                        },
                    )
                await answer(scope, receive, send)
                return
        await super().__call__(scope, receive, send)
