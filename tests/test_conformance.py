"""API inventory (OWASP API9): the app serves exactly the spec's operations, and nothing else but its docs."""

from __future__ import annotations

import yaml
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from impl.chat.router import CHAT_PATH
from impl.platform.openapi_document import DOCS_ASSETS, DOCUMENTATION_PATHS, served_operations
from impl.platform.settings import PROJECT_ROOT

METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")


def _spec_operations() -> set[tuple[str, str, str]]:
    spec = yaml.safe_load((PROJECT_ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    return {
        (method.upper(), path, item[method]["operationId"])
        for path, item in spec["paths"].items()
        for method in METHODS
        if method in item
    }


def test_served_operations_equal_the_spec_both_ways(app: FastAPI) -> None:
    spec = _spec_operations()
    served = {(op.method, op.path, op.operation_id) for op in served_operations(app)}
    assert spec, "the spec declares no operation"
    assert served - spec == set(), "routes the spec does not declare"
    assert spec - served == set(), "spec operations without a route"


def test_the_only_other_routes_are_the_documentation_and_the_chat_socket(app: FastAPI) -> None:
    # The chat WebSocket is the one route OpenAPI cannot describe; spec/asyncapi.yaml does.
    api = {op.path for op in served_operations(app)}
    others = {context.path for context in iter_route_contexts(app.routes)} - api
    assert others == {*DOCUMENTATION_PATHS, DOCS_ASSETS, CHAT_PATH}
