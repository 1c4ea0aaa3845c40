"""The security response headers every HTTP response gets, errors included, and the ``Server`` header taken off.

The API only ever answers with JSON, so its Content-Security-Policy forbids everything: a response that a browser
somehow renders as a page can run nothing and be framed by no one. The Swagger UI and ReDoc pages are the
exception: they load their scripts, styles, fonts and images from this origin (``/docs/assets``), and the Swagger
UI page and its OAuth2 redirect page start with an inline ``<script>`` (FastAPI's HTML templates), so those paths,
and only those, get a policy that allows same-origin assets and inline scripts and styles.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import NamedTuple

from starlette.types import Scope

HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
# Headers every response gets, in the order they are added; the Content-Security-Policy follows them.
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)
CSP = b"content-security-policy"
API_POLICY = b"default-src 'none'; frame-ancestors 'none'"
# ReDoc renders in a Web Worker built from a blob: URL; both UIs embed small images and fonts as data: URLs.
DOCS_POLICY = (
    b"default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    b"frame-ancestors 'none'"
)
CACHE_CONTROL = b"cache-control"
# A response to a request that carried credentials is someone's own data: no shared or browser cache may keep it.
NO_STORE = (CACHE_CONTROL, b"no-store")
# A personal answer that carries a validator: the client may keep it, but must revalidate (If-None-Match → 304)
# before every use, and no shared cache may store it.
REVALIDATE_PRIVATELY = (CACHE_CONTROL, b"private, no-cache")
ETAG = b"etag"
AUTHORIZATION = b"authorization"
SERVER = b"server"

Header = tuple[bytes, bytes]


def route_path(scope: Scope) -> str:
    """The request path without the mount's ``root_path``, the way Starlette's router sees it."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] in ("", "/"):
        return path[len(root) :] or "/"
    return path


class HeaderSet(NamedTuple):
    """Headers to add, with their names (to tell at once whether the app set any of them itself)."""

    headers: tuple[Header, ...]
    names: frozenset[bytes]

    @classmethod
    def of(cls, headers: tuple[Header, ...]) -> HeaderSet:
        return cls(headers, frozenset(name for name, _ in headers))


class SecurityHeaders:
    """Which security headers a request's response gets; the edge middleware adds them at ``http.response.start``.

    The app's own value for a header always wins. All header values are built once, here.
    """

    def __init__(self, *, hsts: bool = True, docs_paths: Collection[str] = ()) -> None:
        # "/" as a docs path would relax the policy for the whole API; an empty entry is a configuration slip.
        roots = {path.rstrip("/") for path in docs_paths}
        if "" in roots:
            raise ValueError("a docs path must name a page below the root, e.g. '/docs'")
        self.docs_exact = frozenset(roots)
        self.docs_prefixes = tuple(sorted(f"{root}/" for root in roots))
        common: tuple[Header, ...] = ((HSTS,) if hsts else ()) + ALWAYS
        self.api_headers = HeaderSet.of((*common, (CSP, API_POLICY)))
        self.docs_headers = HeaderSet.of((*common, (CSP, DOCS_POLICY)))

    def is_docs_path(self, path: str) -> bool:
        # Exact match or a path below it: "/docs" and "/docs/assets/x.js", never "/docsx".
        return path in self.docs_exact or path.startswith(self.docs_prefixes)

    def for_request(self, scope: Scope) -> HeaderSet:
        """The headers to add to this request's response, chosen by its path before it runs."""
        return self.docs_headers if self.is_docs_path(route_path(scope)) else self.api_headers


def secured(raw: Iterable[tuple[bytes, bytes]], extra: HeaderSet, *, authenticated: bool) -> list[Header]:
    """The response's headers without ``Server``, plus each of ``extra`` the app did not set itself.

    ``authenticated``: the request carried credentials (an ``Authorization`` header), so the answer is someone's
    own and gets a ``Cache-Control`` that keeps it out of shared caches, unless the app chose one.
    """
    headers = list(raw)
    # ASGI only recommends lower-case response header names (Starlette's responses always use them).
    present = {name.lower() for name, _ in headers}
    if SERVER in present:
        headers = [header for header in headers if header[0].lower() != SERVER]
    if present.isdisjoint(extra.names):  # the usual answer: none of them set by the app
        headers += extra.headers
    else:
        headers += [header for header in extra.headers if header[0] not in present]
    if authenticated and CACHE_CONTROL not in present:
        headers.append(REVALIDATE_PRIVATELY if ETAG in present else NO_STORE)
    return headers
