"""API9:2023 Improper Inventory Management — what runs is exactly what the spec documents, both ways.

The app refuses to start on drift (tests/impl/platform/test_openapi_document.py proves both directions of that
refusal); this checks the running app itself: its API routes, include prefixes resolved, are the spec's operations,
and the only other routes are the documentation pages, the WebSocket channels of spec/asyncapi.yaml, and the
405 guards of spec paths (impl/platform/shadowed_paths.py).
"""

from __future__ import annotations

import re

import yaml
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from starlette.routing import WebSocketRoute

from impl.platform.openapi_document import DOCS_ASSETS, DOCUMENTATION_PATHS, OpenApiDocument, served_operations
from impl.platform.problems import METHOD_GUARD_ROUTE
from impl.platform.settings import PROJECT_ROOT

SPEC = PROJECT_ROOT / "spec" / "openapi.yaml"
ASYNCAPI = PROJECT_ROOT / "spec" / "asyncapi.yaml"


def test_the_app_serves_every_spec_operation_and_nothing_else(api: TestClient) -> None:
    expected = OpenApiDocument.load(SPEC).operations()
    served = served_operations(api.app)  # type: ignore[arg-type]

    assert sorted(expected - served) == [], "documented but not served"
    assert sorted(served - expected) == [], "served but not documented"


def test_every_other_route_is_documented_elsewhere(api: TestClient) -> None:
    channels = {
        channel["address"] for channel in yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))["channels"].values()
    }
    spec_paths = set(OpenApiDocument.load(SPEC).content["paths"])
    strays = []
    for context in iter_route_contexts(api.app.routes):  # type: ignore[attr-defined]
        route, path = context.original_route, context.path or ""
        if isinstance(route, APIRoute) and context.include_in_schema:
            continue  # an API operation: the test above
        if isinstance(route, WebSocketRoute) and path in channels:
            continue  # a chat socket, described by the AsyncAPI document
        if getattr(route, "name", None) == METHOD_GUARD_ROUTE and path in spec_paths:
            continue  # answers only 405 for methods the spec does not give this path
        if path in DOCUMENTATION_PATHS or path.startswith(DOCS_ASSETS):
            continue
        strays.append(path)

    assert strays == []


def test_the_spec_describes_one_version_and_its_paths_share_the_version_prefix() -> None:
    paths = OpenApiDocument.load(SPEC).content["paths"]
    api_paths = [path for path in paths if path.startswith("/api/")]

    assert api_paths
    assert {path.split("/")[2] for path in api_paths} == {"v1"}, "an old API version is still exposed"


def test_every_http_operation_the_asyncapi_document_names_is_in_the_spec() -> None:
    # Its prose points readers at HTTP operations (the SSE stream carries the event bus's envelopes); each must be
    # one the spec documents, at that path and method.
    named = set(
        re.findall(r"`(GET|PUT|POST|DELETE|PATCH|HEAD|OPTIONS) (/[^`\s]*)`", ASYNCAPI.read_text(encoding="utf-8"))
    )
    operations = {
        (method.upper(), path)
        for path, item in OpenApiDocument.load(SPEC).content["paths"].items()
        for method in item
        if method.upper() in {"GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"}
    }

    assert ("GET", "/api/v1/sse/stream") in named
    assert sorted(named - operations) == []
