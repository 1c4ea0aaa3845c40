"""The generated routers carry only what runs; the documentation is the spec, served as it is (/openapi.json)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

from impl.platform.openapi_document import served_operations


def _api_routes(app: FastAPI) -> list[APIRoute]:
    return [
        context.original_route
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema
    ]


def test_routes_carry_no_copy_of_the_documentation(app: FastAPI) -> None:
    routes = _api_routes(app)
    assert len(routes) == len(served_operations(app))  # one route per spec operation, all of them looked at
    documented = {
        route.operation_id: (route.summary, route.description, sorted(route.responses), route.tags)
        for route in routes
        if route.summary or route.description or route.responses or route.tags or route.deprecated
    }
    assert documented == {}


def test_the_app_still_describes_itself_with_the_spec(app: FastAPI) -> None:
    document = app.openapi()
    get_user = document["paths"]["/api/v1/users/{user_id}"]["get"]
    assert get_user["operationId"] == "getUser"
    assert {"200", "304", "404", "422"} <= set(get_user["responses"])
    assert get_user["summary"]
