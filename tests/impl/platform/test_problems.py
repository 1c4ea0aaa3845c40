"""Every error is RFC 9457 application/problem+json, with the right status, and never shows internals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

import pytest
from fastapi import FastAPI, Header, Query
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field

from impl.platform.problems import ProblemError


class _Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(max_length=5)]
    tags: list[Annotated[str, Field(min_length=1)]] = []


class _TeapotError(ProblemError):
    status = 418


@pytest.fixture
def error_client(app: FastAPI) -> Iterator[TestClient]:
    """The real app plus routes that fail in each way, to see how the platform answers."""

    @app.post("/items/{item_id}", include_in_schema=False)
    async def create(
        item_id: int,
        item: _Item,
        limit: Annotated[int, Query(le=10)],
        if_match: Annotated[str, Header(alias="If-Match")],
    ) -> dict[str, str]:
        return {"ok": "yes"}

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError("password=hunter2 at /srv/secret.py")

    @app.get("/teapot", include_in_schema=False)
    async def teapot() -> None:
        raise _TeapotError("Short and stout.", headers={"X-Kettle": "on"}, extensions={"spout": "left"})

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _assert_problem(response: object, status: int) -> dict[str, object]:
    from httpx2 import Response

    assert isinstance(response, Response)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status
    assert body["type"] == "about:blank"
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    assert isinstance(body, dict)
    return body


def test_unknown_path_is_404(client: TestClient) -> None:
    body = _assert_problem(client.get("/nowhere"), 404)
    assert body["instance"] == "/nowhere"
    assert body["title"] == "Not Found"


def test_instance_is_a_valid_uri_reference_even_for_percent_encoded_paths(client: TestClient) -> None:
    body = client.get("/no%25where%22").json()
    # The decoded path "/no%where\"" is encoded again: no bare '%', no quote.
    assert body["instance"] == "/no%25where%22"


def test_wrong_method_is_405_with_every_allowed_method(client: TestClient) -> None:
    # GET and HEAD on /health are two operations (two routes); Allow must name both.
    response = client.delete("/health")
    _assert_problem(response, 405)
    assert response.headers["allow"] == "GET, HEAD"


def test_validation_lists_every_error_with_its_location(error_client: TestClient) -> None:
    response = error_client.post(
        "/items/not-a-number?limit=99",
        json={"name": "far too long", "tags": [""], "extra": 1},
    )
    body = _assert_problem(response, 422)
    errors = body["errors"]
    assert isinstance(errors, list)
    assert body["detail"] == f"The request has {len(errors)} invalid fields."
    locations = {(key, value) for error in errors for key, value in error.items() if key != "detail"}
    assert ("parameter", "item_id") in locations
    assert ("parameter", "limit") in locations
    assert ("header", "If-Match") in locations
    assert ("pointer", "#/name") in locations
    assert ("pointer", "#/tags/0") in locations
    assert ("pointer", "#/extra") in locations
    assert all(isinstance(error["detail"], str) and error["detail"] for error in errors)


def test_validation_never_echoes_the_input(error_client: TestClient) -> None:
    response = error_client.post("/items/1?limit=1", headers={"If-Match": "x"}, json={"name": "hunter2-secret"})
    assert response.status_code == 422
    assert "hunter2" not in response.text


def test_malformed_json_is_400(error_client: TestClient) -> None:
    response = error_client.post(
        "/items/1?limit=1",
        headers={"If-Match": "x", "Content-Type": "application/json"},
        content=b'{"name": ',
    )
    body = _assert_problem(response, 400)
    assert body["detail"] == "The request body is not valid JSON."


def test_unexpected_error_is_500_without_internals(error_client: TestClient) -> None:
    response = error_client.get("/boom")
    body = _assert_problem(response, 500)
    assert body["detail"] == "An unexpected error occurred. Quote the request ID when reporting it."
    for leak in ("hunter2", "secret.py", "Traceback", "RuntimeError"):
        assert leak not in response.text


def test_domain_exceptions_become_problems_with_their_headers_and_members(error_client: TestClient) -> None:
    response = error_client.get("/teapot")
    body = _assert_problem(response, 418)
    assert body["detail"] == "Short and stout."
    assert body["spout"] == "left"
    assert response.headers["x-kettle"] == "on"
