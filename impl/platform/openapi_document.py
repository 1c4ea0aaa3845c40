"""The hand-written OpenAPI document: parsed once at start-up, served verbatim, and checked against the routes.

The service never serves FastAPI's code-derived schema: /openapi.json and /openapi.yaml answer with the document
in spec/ (its YAML bytes as they are, and the same document as JSON), and /docs and /redoc render it with assets
from an installed package, so the docs work offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")
DOCS_ASSETS = "/docs/assets"
ASYNCAPI_PATH = "/asyncapi.yaml"
# ReDoc's sidebar footer always loads Redocly's logo from their CDN, which the docs' CSP blocks (a console error on
# every visit, and a request to a third party where it is allowed). The bundle is served with that one URL swapped
# for an empty local image; the footer's text and link stay.
REDOC_BUNDLE = "redoc.standalone.js"
REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg'/%3E"
# Documentation routes the service adds beside the spec's operations (and the only ones it may add).
DOCUMENTATION_PATHS = frozenset(
    {
        "/openapi.json",
        "/openapi.yaml",
        ASYNCAPI_PATH,
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        f"{DOCS_ASSETS}/{REDOC_BUNDLE}",
    }
)


@dataclass(frozen=True, slots=True, order=True)
class OperationKey:
    method: str  # upper case
    path: str
    operation_id: str

    def __str__(self) -> str:
        return f"{self.operation_id} ({self.method} {self.path})"


@dataclass(frozen=True, slots=True)
class OpenApiDocument:
    raw_yaml: bytes
    content: dict[str, Any]
    json_bytes: bytes

    @classmethod
    def load(cls, path: Path) -> OpenApiDocument:
        raw = path.read_bytes()
        content = yaml.safe_load(raw)
        if not isinstance(content, dict) or "openapi" not in content:
            raise ValueError(f"{path} is not an OpenAPI document")
        return cls(raw_yaml=raw, content=content, json_bytes=json.dumps(content, ensure_ascii=False).encode())

    @property
    def title(self) -> str:
        return str(self.content["info"]["title"])

    @property
    def version(self) -> str:
        return str(self.content["info"]["version"])

    def operations(self) -> set[OperationKey]:
        return {
            OperationKey(method.upper(), path, str(item[method].get("operationId", "")))
            for path, item in self.content.get("paths", {}).items()
            for method in HTTP_METHODS
            if method in item
        }


def served_operations(app: FastAPI) -> set[OperationKey]:
    """(method, path, operationId) of every API route; documentation routes are not API routes.

    Only HTTP operations (``APIRoute``) count: a WebSocket route is described by spec/asyncapi.yaml, not by the
    OpenAPI document, so it is neither required by nor compared with the spec's paths.

    Since FastAPI 0.137, ``app.routes`` holds included routers unflattened; ``iter_route_contexts`` walks them and
    resolves include prefixes, so a router hidden behind ``include_router`` is still counted.
    """
    return {
        OperationKey(method, context.path or "", context.operation_id or "")
        for context in iter_route_contexts(app.routes)
        if isinstance(context.original_route, APIRoute) and context.include_in_schema
        for method in context.methods or ()
    }


class RouteDriftError(RuntimeError):
    """The app's routes and the spec's operations differ; the message names every difference."""


def verify_routes(app: FastAPI, document: OpenApiDocument) -> None:
    """Fail start-up, naming the operation, when a spec operation has no route or a route is not in the spec."""
    expected, served = document.operations(), served_operations(app)
    missing = sorted(expected - served)
    extra = sorted(served - expected)
    if missing or extra:
        problems = [f"spec operation {op} has no route" for op in missing]
        problems += [f"route {op} is not in the spec" for op in extra]
        raise RouteDriftError("; ".join(problems))


def mount_documentation(app: FastAPI, document: OpenApiDocument, *, asyncapi_yaml: bytes | None = None) -> None:
    """Serve the document verbatim and the Swagger UI / ReDoc pages, with their assets, from this process.

    ``asyncapi_yaml``, the AsyncAPI document of the WebSocket chat and the events, is served verbatim at
    ``/asyncapi.yaml`` (the OpenAPI document points there; its relative references reach ``/openapi.yaml``).
    """
    assets = files("fastapi_offline") / "static"
    redoc_bundle = (assets / REDOC_BUNDLE).read_bytes().replace(REDOC_CDN_LOGO, EMPTY_IMAGE)

    async def redoc_js(request: Request) -> Response:
        return Response(redoc_bundle, media_type="text/javascript")

    # Before the mount, which would otherwise serve the bundle as it ships.
    app.add_api_route(f"{DOCS_ASSETS}/{REDOC_BUNDLE}", redoc_js, methods=["GET"], include_in_schema=False)
    app.mount(DOCS_ASSETS, StaticFiles(directory=str(assets)), name="docs-assets")
    title = document.title

    async def openapi_json(request: Request) -> Response:
        return Response(document.json_bytes, media_type="application/json")

    async def openapi_yaml(request: Request) -> Response:
        return Response(document.raw_yaml, media_type="application/yaml")

    async def asyncapi(request: Request) -> Response:
        return Response(asyncapi_yaml, media_type="application/yaml")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{title} - Swagger UI",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            # Swagger UI would otherwise show a badge image from validator.swagger.io, an external asset.
            swagger_ui_parameters={"validatorUrl": None},
        )

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{title} - ReDoc",
            redoc_js_url=f"{root}{DOCS_ASSETS}/{REDOC_BUNDLE}",
            redoc_favicon_url=f"{root}{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )

    for path, endpoint in (
        ("/openapi.json", openapi_json),
        ("/openapi.yaml", openapi_yaml),
        ("/docs", swagger_ui),
        ("/docs/oauth2-redirect", swagger_ui_redirect),
        ("/redoc", redoc),
    ):
        app.add_api_route(path, endpoint, methods=["GET"], include_in_schema=False)
    if asyncapi_yaml is not None:
        app.add_api_route(ASYNCAPI_PATH, asyncapi, methods=["GET"], include_in_schema=False)
