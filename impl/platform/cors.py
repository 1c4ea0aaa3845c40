"""The CORS policy: which browser origins may call the API, as keyword arguments for Starlette's CORSMiddleware.

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

OPEN_ENVIRONMENTS = frozenset({"dev", "test", "mock"})
WILDCARD = "*"
ALLOW_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
# What the API reads from a request beyond the CORS-safelisted headers.
ALLOW_HEADERS = (
    "Authorization",
    "Content-Type",
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "Idempotency-Key",
    "X-Request-ID",
)
# What a script may read from a response beyond the safelisted ones: validators, paging, rate limits, tracing,
# and a deprecated operation's announcement.
EXPOSE_HEADERS = (
    "Deprecation",
    "ETag",
    "Last-Modified",
    "Location",
    "Link",
    "Retry-After",
    "RateLimit",
    "RateLimit-Policy",
    "Sunset",
    "X-Request-ID",
)
MAX_AGE_SECONDS = 600
# A browser's Origin is scheme://host[:port], lower case, with no path; CORSMiddleware compares strings exactly,
# so "https://app.example/" or "https://App.example" in the list would silently never match.
ORIGIN = re.compile(r"[a-z][a-z0-9+.-]*://[^/?#\s A-Z]+")


def cors_options(*, app_env: str, allow_origins: Sequence[str]) -> dict[str, Any] | None:
    """Keyword arguments for ``CORSMiddleware(app, **options)``, or ``None`` when the app must not answer CORS.

    Credentials are allowed only with an explicit allow-list: never together with the ``*`` wildcard, which
    Starlette would otherwise turn into echoing every origin with credentials.
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
        "allow_headers": list(ALLOW_HEADERS),
        "expose_headers": list(EXPOSE_HEADERS),
        "max_age": MAX_AGE_SECONDS,
    }
