"""CORS: any origin but no credentials in dev/test, an allow-list with credentials, and in prod nothing by default."""

from __future__ import annotations

import httpx2
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from impl.platform.cors import ProblemCORSMiddleware, cors_options
from impl.platform.spec_headers import SpecHeaders

pytestmark = pytest.mark.unit

APP_ORIGIN = "https://app.example.com"
FOREIGN_ORIGIN = "https://evil.example.net"
HEADERS = SpecHeaders(
    request=("Idempotency-Key", "If-Match", "If-Modified-Since", "If-None-Match"),
    response=("ETag", "Location", "RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-ID"),
)


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok", headers={"ETag": '"1"'})


def client_for(*, app_env: str, allow_origins: list[str]) -> TestClient:
    options = cors_options(app_env=app_env, allow_origins=allow_origins, headers=HEADERS)
    assert options is not None
    return TestClient(
        ProblemCORSMiddleware(Starlette(routes=[Route("/things", ok, methods=["GET", "PATCH"])]), **options)
    )


def preflight(client: TestClient, origin: str) -> httpx2.Response:
    return client.options(
        "/things",
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type, if-match, idempotency-key",
        },
    )


@pytest.mark.parametrize("app_env", ["dev", "test", "mock"])
def test_dev_without_origins_allows_any_origin_without_credentials(app_env: str) -> None:
    client = client_for(app_env=app_env, allow_origins=[])

    answer = preflight(client, FOREIGN_ORIGIN)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["access-control-max-age"] == "600"

    simple = client.get("/things", headers={"Origin": FOREIGN_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in simple.headers


@pytest.mark.parametrize("app_env", ["dev", "staging", "prod"])
def test_an_allow_list_echoes_the_allowed_origin_with_credentials(app_env: str) -> None:
    client = client_for(app_env=app_env, allow_origins=[APP_ORIGIN])

    answer = preflight(client, APP_ORIGIN)
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == APP_ORIGIN
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert "PATCH" in answer.headers["access-control-allow-methods"]

    simple = client.get("/things", headers={"Origin": APP_ORIGIN})
    assert simple.headers["access-control-allow-origin"] == APP_ORIGIN
    assert simple.headers["access-control-allow-credentials"] == "true"
    assert "Origin" in simple.headers["vary"]
    exposed = {name.strip() for name in simple.headers["access-control-expose-headers"].split(",")}
    assert {"ETag", "Location", "Retry-After", "RateLimit", "RateLimit-Policy", "X-Request-ID"} <= exposed


def test_a_foreign_origin_gets_no_allow_origin() -> None:
    client = client_for(app_env="prod", allow_origins=[APP_ORIGIN])

    answer = preflight(client, FOREIGN_ORIGIN)
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers

    simple = client.get("/things", headers={"Origin": FOREIGN_ORIGIN, "Cookie": "session=1"})
    assert "access-control-allow-origin" not in simple.headers


def test_a_header_outside_the_list_fails_the_preflight() -> None:
    client = client_for(app_env="prod", allow_origins=[APP_ORIGIN])
    answer = client.options(
        "/things",
        headers={
            "Origin": APP_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "x-evil",
        },
    )
    assert answer.status_code == 400


@pytest.mark.parametrize("app_env", ["dev", "prod"])
def test_a_wildcard_in_the_list_never_comes_with_credentials(app_env: str) -> None:
    options = cors_options(app_env=app_env, allow_origins=[APP_ORIGIN, "*"], headers=HEADERS)
    assert options is not None
    assert options["allow_credentials"] is False
    client = client_for(app_env=app_env, allow_origins=[APP_ORIGIN, "*"])

    for response in (
        preflight(client, FOREIGN_ORIGIN),
        client.get("/things", headers={"Origin": FOREIGN_ORIGIN, "Cookie": "session=1"}),
    ):
        assert "access-control-allow-credentials" not in response.headers


@pytest.mark.parametrize("app_env", ["staging", "prod"])
def test_staging_and_prod_without_origins_have_no_cors(app_env: str) -> None:
    assert cors_options(app_env=app_env, allow_origins=[], headers=HEADERS) is None
    assert cors_options(app_env=app_env, allow_origins=["  "], headers=HEADERS) is None


def test_the_allow_list_is_passed_exactly() -> None:
    options = cors_options(app_env="prod", allow_origins=[APP_ORIGIN, "http://localhost:3000"], headers=HEADERS)
    assert options == {
        "allow_origins": [APP_ORIGIN, "http://localhost:3000"],
        "allow_credentials": True,
        "allow_methods": ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
        "allow_headers": [
            "Authorization",
            "Content-Type",
            "Idempotency-Key",
            "If-Match",
            "If-Modified-Since",
            "If-None-Match",
            "X-Request-ID",
        ],
        "expose_headers": ["ETag", "Location", "RateLimit", "RateLimit-Policy", "Retry-After", "X-Request-ID"],
        "max_age": 600,
    }


@pytest.mark.parametrize("origin", ["https://app.example.com/", "app.example.com", "https://App.example.com", "null"])
def test_an_origin_that_could_never_match_is_refused_at_start_up(origin: str) -> None:
    with pytest.raises(ValueError, match="CORS origin"):
        cors_options(app_env="prod", allow_origins=[origin], headers=HEADERS)
