"""CORS follows the contract: a browser may send every header the spec reads and read every header it declares."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import test_settings

SPEC = Path(__file__).parents[3] / "spec" / "openapi.yaml"
ORIGIN = "http://localhost:5173"
ALLOWED = "https://app.example.com"
SAFELISTED = {"accept", "accept-language", "content-language"}


def nodes(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from nodes(value)
    elif isinstance(node, list):
        for value in node:
            yield from nodes(value)


def declared_headers() -> tuple[set[str], set[str]]:
    """Every header parameter and every response header anywhere in the spec (components included), lower case."""
    document = yaml.safe_load(SPEC.read_bytes())
    request = {node["name"].lower() for node in nodes(document) if node.get("in") == "header"}
    response = {
        name.lower()
        for node in nodes(document)
        for answer in (node.get("responses") or {}).values()
        if isinstance(answer, dict)
        for name in answer.get("headers", {})
    }
    response |= {
        name.lower() for answer in document["components"]["responses"].values() for name in answer.get("headers", {})
    }
    return request, response


def listed(value: str) -> set[str]:
    return {name.strip().lower() for name in value.split(",") if name.strip()}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    app = create_app(test_settings(tmp_path_factory.mktemp("cors") / "data"))
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def preflight(client: TestClient, path: str, method: str, headers: str, origin: str = ORIGIN) -> Any:
    return client.options(
        path,
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


def test_the_spec_declares_the_headers_a_frontend_needs() -> None:
    # The derivation below is the test's own; these are the headers the issue found missing, so it reads them.
    request, response = declared_headers()
    assert {"last-event-id", "if-range", "range", "if-match", "idempotency-key"} <= request
    assert {"content-disposition", "content-range", "accept-ranges", "allow", "www-authenticate"} <= response


def test_a_preflight_may_ask_for_every_header_parameter_the_spec_declares(client: TestClient) -> None:
    request, _ = declared_headers()
    answer = preflight(client, "/api/v1/users", "POST", ", ".join(sorted(request | {"authorization", "content-type"})))

    assert answer.status_code == 200, answer.text
    # Starlette always adds the CORS-safelisted request headers (Fetch standard); the rest is exactly the spec's.
    assert listed(answer.headers["access-control-allow-headers"]) - SAFELISTED == request | {
        "authorization",
        "content-type",
        "x-request-id",
    }


@pytest.mark.parametrize(
    ("path", "method", "header"),
    [
        ("/api/v1/sse/stream", "GET", "last-event-id"),
        ("/api/v1/files/3f0c8a52-6f0e-4d51-9a42-3c0d7f6c8b11/content", "GET", "if-range, range"),
    ],
)
def test_the_streaming_and_ranged_headers_pass_the_preflight(
    client: TestClient, path: str, method: str, header: str
) -> None:
    answer = preflight(client, path, method, f"authorization, {header}")
    assert answer.status_code == 200, answer.text
    assert answer.headers["access-control-allow-origin"] == "*"


def test_every_response_header_the_spec_declares_is_exposed(client: TestClient) -> None:
    _, response = declared_headers()
    answer = client.get("/health", headers={"Origin": ORIGIN})

    assert answer.status_code == 200
    assert listed(answer.headers["access-control-expose-headers"]) == response


def test_a_cross_origin_script_can_read_the_export_file_name(client: TestClient) -> None:
    token = client.post(
        "/api/v1/auth/login", json={"email": "admin@example.com", "password": "a passphrase only the test suite knows"}
    ).json()["access_token"]
    answer = client.get(
        "/api/v1/users/export?format=csv", headers={"Origin": ORIGIN, "Authorization": f"Bearer {token}"}
    )

    assert answer.status_code == 200
    assert "content-disposition" in answer.headers
    assert "content-disposition" in listed(answer.headers["access-control-expose-headers"])


def test_a_refused_preflight_is_a_problem_document(client: TestClient) -> None:
    answer = preflight(client, "/api/v1/users", "GET", "authorization, x-not-in-the-spec")

    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    body = answer.json()
    assert body["status"] == 400
    assert body["instance"] == "/api/v1/users"
    assert "headers" in body["detail"]


def test_a_foreign_origin_refused_by_the_allow_list_gets_a_problem_without_allow_origin(tmp_path: Path) -> None:
    app = create_app(test_settings(tmp_path / "data", app_env="dev", cors_allow_origins=[ALLOWED]))
    with TestClient(app, raise_server_exceptions=False) as client:
        refused = preflight(client, "/api/v1/users", "GET", "authorization", origin="https://evil.example.net")
        allowed = preflight(client, "/api/v1/users", "GET", "authorization, if-none-match", origin=ALLOWED)

    assert refused.status_code == 400
    assert refused.headers["content-type"] == "application/problem+json"
    assert "origin" in refused.json()["detail"]
    assert "access-control-allow-origin" not in refused.headers
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == ALLOWED
