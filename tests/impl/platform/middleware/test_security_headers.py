"""Every HTTP response carries the security headers, errors included; the docs pages alone get a relaxed CSP."""

from __future__ import annotations

import asyncio

import pytest
from starlette.applications import Starlette
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocket

from impl.platform.middleware.edge import EdgeMiddleware
from impl.platform.middleware.security_headers import SecurityHeaders

pytestmark = pytest.mark.unit

API_CSP = "default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "frame-ancestors 'none'"
)
EXPECTED = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-resource-policy": "same-origin",
    "content-security-policy": API_CSP,
}


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def boom(request: Request) -> Response:
    raise RuntimeError("secret internals")


async def cached(request: Request) -> Response:
    return PlainTextResponse("public", headers={"Cache-Control": "private, no-cache"})


async def tagged(request: Request) -> Response:
    return PlainTextResponse("versioned", headers={"ETag": '"abc"'})


async def own_headers(request: Request) -> Response:
    return PlainTextResponse(
        "framable",
        headers={"X-Frame-Options": "SAMEORIGIN", "Content-Security-Policy": "sandbox", "Server": "leaky/1.0"},
    )


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_text(await websocket.receive_text())
    await websocket.close()


def make_app(*, hsts: bool = True, docs_paths: tuple[str, ...] = ()) -> ASGIApp:
    inner = Starlette(
        routes=[
            Route("/ok", ok),
            Route("/boom", boom),
            Route("/cached", cached),
            Route("/tagged", tagged),
            Route("/own", own_headers),
            Route("/docs", ok),
            Route("/docs/assets/swagger-ui.css", ok),
            Route("/docsx", ok),
            Route("/redoc", ok),
            WebSocketRoute("/ws", echo),
        ]
    )
    # The app factory puts the edge middleware outside Starlette's error middleware, so the 500 passes through it.
    return EdgeMiddleware(ServerErrorMiddleware(inner), security=SecurityHeaders(hsts=hsts, docs_paths=docs_paths))


@pytest.fixture
def client() -> TestClient:
    return TestClient(make_app(docs_paths=("/docs", "/redoc")), raise_server_exceptions=False)


@pytest.mark.parametrize(("path", "status"), [("/ok", 200), ("/no-such-path", 404), ("/boom", 500)])
def test_every_response_carries_the_security_headers(client: TestClient, path: str, status: int) -> None:
    response = client.get(path)
    assert response.status_code == status
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], name


def test_the_500_answer_is_not_cached_by_the_middleware_without_credentials(client: TestClient) -> None:
    assert "cache-control" not in client.get("/boom").headers


@pytest.mark.parametrize("path", ["/docs", "/docs/assets/swagger-ui.css", "/redoc"])
def test_docs_pages_get_the_relaxed_policy(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.headers.get_list("content-security-policy") == [DOCS_CSP]
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("path", ["/docsx", "/ok", "/redocs"])
def test_other_paths_keep_the_strict_policy(client: TestClient, path: str) -> None:
    assert client.get(path).headers["content-security-policy"] == API_CSP


def test_docs_paths_are_matched_below_a_root_path() -> None:
    client = TestClient(make_app(docs_paths=("/docs",)), root_path="/api")
    assert client.get("/docs").headers["content-security-policy"] == DOCS_CSP
    assert client.get("/ok").headers["content-security-policy"] == API_CSP


def test_without_docs_paths_nothing_is_relaxed() -> None:
    assert TestClient(make_app()).get("/docs").headers["content-security-policy"] == API_CSP


def test_the_root_is_refused_as_a_docs_path() -> None:
    with pytest.raises(ValueError, match="docs path"):
        make_app(docs_paths=("/",))


def test_an_authenticated_response_is_not_stored(client: TestClient) -> None:
    for path in ("/ok", "/no-such-path", "/boom"):
        response = client.get(path, headers={"Authorization": "Bearer x"})
        assert response.headers.get_list("cache-control") == ["no-store"], path


def test_an_authenticated_response_with_an_etag_may_be_kept_privately_but_is_revalidated(client: TestClient) -> None:
    authenticated = client.get("/tagged", headers={"Authorization": "Bearer x"})
    assert authenticated.headers.get_list("cache-control") == ["private, no-cache"]
    assert "cache-control" not in client.get("/tagged").headers


def test_an_anonymous_response_gets_no_cache_control(client: TestClient) -> None:
    assert "cache-control" not in client.get("/ok").headers


def test_the_apps_own_cache_control_is_kept(client: TestClient) -> None:
    response = client.get("/cached", headers={"Authorization": "Bearer x"})
    assert response.headers.get_list("cache-control") == ["private, no-cache"]


def test_the_apps_own_values_win_and_are_not_duplicated(client: TestClient) -> None:
    response = client.get("/own")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers.get_list("content-security-policy") == ["sandbox"]
    assert response.headers["x-content-type-options"] == "nosniff"


def test_the_server_header_is_removed(client: TestClient) -> None:
    assert "server" not in client.get("/own").headers


def test_hsts_can_be_switched_off() -> None:
    response = TestClient(make_app(hsts=False)).get("/ok")
    assert "strict-transport-security" not in response.headers
    assert response.headers["x-content-type-options"] == "nosniff"


def test_mixed_case_header_names_from_a_raw_app_are_recognised() -> None:
    async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"Server", b"raw/1.0"), (b"X-Frame-Options", b"SAMEORIGIN"), (b"Cache-Control", b"max-age=5")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    response = TestClient(EdgeMiddleware(raw_app, security=SecurityHeaders())).get(
        "/", headers={"Authorization": "Bearer x"}
    )
    assert "server" not in response.headers
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers.get_list("cache-control") == ["max-age=5"]


def test_websockets_pass_through_untouched(client: TestClient) -> None:
    with client.websocket_connect("/ws") as websocket:
        websocket.send_text("hello")
        assert websocket.receive_text() == "hello"


def test_non_http_messages_are_forwarded_as_they_are() -> None:
    seen: list[Message] = []
    accept: Message = {"type": "websocket.accept", "headers": [(b"server", b"x")]}

    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        await send(accept)

    async def receive() -> Message:
        return {"type": "websocket.connect"}

    async def send(message: Message) -> None:
        seen.append(message)

    scope: Scope = {"type": "websocket", "path": "/ws", "headers": []}
    asyncio.run(EdgeMiddleware(inner, security=SecurityHeaders())(scope, receive, send))
    assert seen == [{"type": "websocket.accept", "headers": [(b"server", b"x")]}]
