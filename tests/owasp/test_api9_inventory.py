"""API9:2023 Improper Inventory Management — what runs is exactly what the spec documents, both ways.

The app refuses to start on drift (tests/impl/platform/test_openapi_document.py proves both directions of that
refusal); this checks the running app itself: its API routes, include prefixes resolved, are the spec's operations,
and the only other routes are the documentation pages.
"""

from __future__ import annotations

from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from impl.platform.openapi_document import DOCS_ASSETS, DOCUMENTATION_PATHS, OpenApiDocument, served_operations
from impl.platform.settings import PROJECT_ROOT

SPEC = PROJECT_ROOT / "spec" / "openapi.yaml"


def test_the_app_serves_every_spec_operation_and_nothing_else(api: TestClient) -> None:
    expected = OpenApiDocument.load(SPEC).operations()
    served = served_operations(api.app)  # type: ignore[arg-type]

    assert sorted(expected - served) == [], "documented but not served"
    assert sorted(served - expected) == [], "served but not documented"


def test_every_other_route_is_a_documentation_page(api: TestClient) -> None:
    undocumented = {
        context.path or ""
        for context in iter_route_contexts(api.app.routes)  # type: ignore[attr-defined]
        if not (isinstance(context.original_route, APIRoute) and context.include_in_schema)
    }

    assert undocumented, "the docs pages are mounted in the test environment"
    strays = [path for path in undocumented if path not in DOCUMENTATION_PATHS and not path.startswith(DOCS_ASSETS)]
    assert strays == []


def test_the_spec_describes_one_version_and_its_paths_share_the_version_prefix() -> None:
    paths = OpenApiDocument.load(SPEC).content["paths"]
    api_paths = [path for path in paths if path.startswith("/api/")]

    assert api_paths
    assert {path.split("/")[2] for path in api_paths} == {"v1"}, "an old API version is still exposed"
