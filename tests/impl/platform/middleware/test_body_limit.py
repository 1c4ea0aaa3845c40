"""Bodies over MAX_BODY_BYTES get 413 before they are buffered, whether their length is declared or streamed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from impl.app import create_app
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
