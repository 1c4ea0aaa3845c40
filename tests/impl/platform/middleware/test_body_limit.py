"""Bodies over MAX_BODY_BYTES (or a path's own limit) get 413 before they are buffered, declared or streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.platform.middleware.body_limit import BodyLimitMiddleware
from impl.platform.problems import install_problem_handlers
from impl.platform.settings import Settings

LIMIT = 64


@pytest.fixture
def small_limit_app(tmp_path: Path) -> FastAPI:
    app = create_app(Settings(app_env="test", data_dir=tmp_path, max_body_bytes=LIMIT))

    @app.post("/echo-length", include_in_schema=False)
    async def echo_length(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    return app


@pytest.fixture
def small_client(small_limit_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(small_limit_app, raise_server_exceptions=False) as client:
        yield client


def test_a_body_within_the_limit_is_read(small_client: TestClient) -> None:
    response = small_client.post("/echo-length", content=b"x" * LIMIT)
    assert response.status_code == 200
    assert response.json() == {"length": LIMIT}


def test_a_declared_length_over_the_limit_is_refused_with_a_problem(small_client: TestClient) -> None:
    response = small_client.post("/echo-length", content=b"x" * (LIMIT + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"The request body exceeds the limit of {LIMIT} bytes."
    assert "x-request-id" in response.headers


def test_a_streamed_body_over_the_limit_is_refused(small_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(10):
            yield b"y" * 16  # 160 bytes in all, without a Content-Length

    response = small_client.post("/echo-length", content=chunks())
    assert response.status_code == 413
    assert response.json()["title"] == "Content Too Large"


def test_any_operation_refuses_an_oversized_body(small_client: TestClient) -> None:
    # Declared in the spec as 413 on every operation: the limit applies before routing.
    response = small_client.request("GET", "/health", content=b"z" * (LIMIT * 2))
    assert response.status_code == 413


# --- per-path limits: uploads stream far larger bodies than JSON operations may send --------------------------------
UPLOAD_PATH = "/upload"
UPLOAD_LIMIT = 256


@pytest.fixture
def per_path_client() -> Iterator[TestClient]:
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=LIMIT, limits_by_path={UPLOAD_PATH: UPLOAD_LIMIT})

    async def length(request: Request) -> dict[str, int]:
        return {"length": len(await request.body())}

    app.add_api_route(UPLOAD_PATH, length, methods=["POST"])
    app.add_api_route("/other", length, methods=["POST"])
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_a_path_with_its_own_limit_accepts_bodies_up_to_it(per_path_client: TestClient) -> None:
    response = per_path_client.post(UPLOAD_PATH, content=b"u" * UPLOAD_LIMIT)
    assert response.status_code == 200
    assert response.json() == {"length": UPLOAD_LIMIT}


def test_a_path_with_its_own_limit_refuses_a_declared_length_over_it(per_path_client: TestClient) -> None:
    response = per_path_client.post(UPLOAD_PATH, content=b"u" * (UPLOAD_LIMIT + 1))
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"] == f"The request body exceeds the limit of {UPLOAD_LIMIT} bytes."


def test_a_path_with_its_own_limit_refuses_a_streamed_body_over_it(per_path_client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(UPLOAD_LIMIT // 16 + 1):
            yield b"s" * 16

    response = per_path_client.post(UPLOAD_PATH, content=chunks())
    assert response.status_code == 413
    assert response.json()["detail"] == f"The request body exceeds the limit of {UPLOAD_LIMIT} bytes."


def test_other_paths_keep_the_general_limit(per_path_client: TestClient) -> None:
    # Exact paths only: a longer path, or another one, is not an upload.
    assert per_path_client.post("/other", content=b"o" * (LIMIT + 1)).status_code == 413
    assert per_path_client.post(UPLOAD_PATH + "/x", content=b"o" * (LIMIT + 1)).status_code == 413
