"""The service serves the hand-written document verbatim, renders offline docs, and refuses to start on drift."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from fastapi import FastAPI
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.platform.openapi_document import OpenApiDocument, RouteDriftError, served_operations, verify_routes
from impl.platform.settings import PROJECT_ROOT, Settings

SPEC = PROJECT_ROOT / "spec" / "openapi.yaml"
ASYNCAPI = PROJECT_ROOT / "spec" / "asyncapi.yaml"


def test_openapi_yaml_is_the_file_byte_for_byte(client: TestClient) -> None:
    response = client.get("/openapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/yaml"
    assert response.content == SPEC.read_bytes()


def test_asyncapi_yaml_is_the_file_byte_for_byte(client: TestClient) -> None:
    response = client.get("/asyncapi.yaml")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/yaml"
    assert response.content == ASYNCAPI.read_bytes()


def test_openapi_json_is_the_same_document(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == yaml.safe_load(SPEC.read_text(encoding="utf-8"))


def test_app_openapi_returns_the_hand_written_document(app: FastAPI) -> None:
    assert app.openapi() == yaml.safe_load(SPEC.read_text(encoding="utf-8"))


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_load_every_asset_from_this_service(client: TestClient, page: str) -> None:
    html = client.get(page)
    assert html.status_code == 200
    assert "/openapi.json" in html.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html.text) + re.findall(r"url: ?['\"]([^'\"]+)", html.text)
    assets = [url for url in urls if url.endswith((".js", ".css", ".png"))]
    assert assets, "the page references no assets"
    for url in assets:
        assert url.startswith("/docs/assets/"), f"{url} is not served by this service"
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert "cdn." not in html.text
    assert "fonts.googleapis" not in html.text


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_scripts_load_nothing_from_another_host(client: TestClient, page: str) -> None:
    html = client.get(page).text
    for script in re.findall(r"""<script src=["']([^"']+)["']""", html):
        # ReDoc's footer logo (cdn.redoc.ly) is swapped for an empty local image when the bundle is served.
        assert b"cdn." not in client.get(script).content, script
    if page == "/docs":
        # Otherwise Swagger UI shows a validity badge fetched from validator.swagger.io.
        assert '"validatorUrl": null' in html


def test_try_it_out_targets_the_host_serving_the_docs(client: TestClient) -> None:
    # The docs' CSP lets scripts call only their own origin (connect-src 'self'); a server URL naming a host and
    # port would be refused wherever the service runs elsewhere. A relative one resolves against /openapi.json.
    servers = yaml.safe_load(SPEC.read_bytes())["servers"]
    assert servers
    for server in servers:
        assert server["url"].startswith("/"), server["url"]
        assert "//" not in server["url"], server["url"]
    csp = client.get("/docs", headers={"Host": "docs.example.org:9443"}).headers["content-security-policy"]
    assert "connect-src 'self'" in csp


def test_swagger_oauth2_redirect_page_is_served(client: TestClient) -> None:
    assert client.get("/docs/oauth2-redirect").status_code == 200


def test_docs_can_be_switched_off(tmp_path: Path) -> None:
    app = create_app(Settings(app_env="test", data_dir=tmp_path, docs_enabled=False))
    with TestClient(app) as client:
        for path in ("/docs", "/redoc", "/openapi.json", "/openapi.yaml", "/asyncapi.yaml"):
            assert client.get(path).status_code == 404, path
        assert client.get("/health").status_code == 200


def _spec_with(tmp_path: Path, change: str) -> Path:
    spec = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    if change == "new-operation":
        spec["paths"]["/health"]["post"] = {**spec["paths"]["/health"]["get"], "operationId": "postHealth"}
    else:
        del spec["paths"]["/livez"]["head"]
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec), encoding="utf-8")
    return path


def test_startup_fails_naming_a_spec_operation_without_a_route(tmp_path: Path) -> None:
    spec = _spec_with(tmp_path, "new-operation")
    with pytest.raises(RouteDriftError, match=r"spec operation postHealth \(POST /health\) has no route"):
        create_app(Settings(app_env="test", data_dir=tmp_path, spec_path=spec))


def test_startup_fails_naming_a_route_missing_from_the_spec(tmp_path: Path) -> None:
    spec = _spec_with(tmp_path, "removed-operation")
    with pytest.raises(RouteDriftError, match=r"route headLiveness \(HEAD /livez\) is not in the spec"):
        create_app(Settings(app_env="test", data_dir=tmp_path, spec_path=spec))


def test_routes_behind_include_router_prefixes_are_seen(app: FastAPI) -> None:
    # A guard that silently sees no route would pass on an empty set; this one must see the prefixed path.
    from fastapi import APIRouter

    extra = APIRouter()

    @extra.get("/ping", operation_id="ping")
    async def ping() -> dict[str, str]:
        return {}

    app.include_router(extra, prefix="/v9")
    document = OpenApiDocument.load(SPEC)
    with pytest.raises(RouteDriftError, match=r"route ping \(GET /v9/ping\) is not in the spec"):
        verify_routes(app, document)


def test_a_file_that_is_not_openapi_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(json.dumps({"hello": "world"}), encoding="utf-8")
    with pytest.raises(ValueError, match="not an OpenAPI document"):
        OpenApiDocument.load(path)


def test_websocket_routes_are_not_operations_of_the_openapi_document(app: FastAPI) -> None:
    # The AsyncAPI document describes them: the app's own chat socket and any other one pass verify_routes.
    from fastapi import APIRouter, WebSocket

    extra = APIRouter()

    @extra.websocket("/v9/socket")
    async def socket(websocket: WebSocket) -> None:
        await websocket.close()

    app.include_router(extra)
    assert not any(op.path.startswith(("/api/v1/ws/", "/v9/")) for op in served_operations(app))
    verify_routes(app, OpenApiDocument.load(SPEC))
