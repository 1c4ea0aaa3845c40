"""The generator: typed Protocols and routers that behave as the spec says, deterministic output, clear refusals."""

from __future__ import annotations

import gzip
import importlib
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from uuid import UUID, uuid4

import pytest
import yaml
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from impl.platform.problems import install_problem_handlers
from scripts.generate import generate_all, tree
from scripts.generate_api import SpecError, SpecReader

FIXTURE = Path(__file__).parent / "fixtures" / "items.yaml"
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def fixturegen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The fixture spec generated into an importable package named ``fixturegen``."""
    root = tmp_path_factory.mktemp("gen")
    generate_all(FIXTURE, root / "fixturegen", "fixturegen")
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("fixturegen.api")
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == "fixturegen" or n.startswith("fixturegen.")]:
            del sys.modules[name]


class _Items:
    """A hand-written implementation of the generated ItemsApi, recording what it was called with."""

    def __init__(self, models: ModuleType, reply: type) -> None:
        self.models, self.reply = models, reply
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def create_item(self, *, body: Any) -> Any:
        self.calls.append(("create_item", {"body": body}))
        item = self.models.Item(id=uuid4(), name=body.name, note=body.note)
        return self.reply(item, headers={"Location": f"/items/{item.id}"})

    async def get_item(self, *, item_id: UUID, fields: int, if_none_match: str | None) -> Any:
        self.calls.append(("get_item", {"item_id": item_id, "fields": fields, "if_none_match": if_none_match}))
        return self.models.Item(id=item_id, name="widget", note=None)

    async def delete_item(self, *, item_id: UUID) -> None:
        self.calls.append(("delete_item", {"item_id": item_id}))


class _Blobs:
    """Streams: the handler reads the unread request itself and answers with its own Response."""

    def __init__(self) -> None:
        self.received = b""

    async def put_blob(self, *, request: Any) -> None:
        async for chunk in request.stream():
            self.received += chunk

    async def get_blob(self) -> Any:
        from fastapi import Response

        return Response(b"a,b\r\n1,2\r\n", media_type="text/csv", headers={"X-Rows": "1"})


class _Stock:
    async def get_stock(self) -> Any:
        models = importlib.import_module("fixturegen.models")
        return models.Stock(count=7)


@pytest.fixture
def items(fixturegen: ModuleType) -> _Items:
    support = importlib.import_module("fixturegen.api._support")
    return _Items(importlib.import_module("fixturegen.models"), support.Reply)


@pytest.fixture
def blobs() -> _Blobs:
    return _Blobs()


@pytest.fixture
def items_client(fixturegen: ModuleType, items: _Items, blobs: _Blobs) -> Iterator[TestClient]:
    app = FastAPI()
    headers = importlib.import_module("fixturegen.api.header_parameters")
    install_problem_handlers(app, header_parameters=headers.HEADER_PARAMETERS)
    app.include_router(fixturegen.build_items_router(items))
    app.include_router(fixturegen.build_stock_levels_router(_Stock()))
    app.include_router(fixturegen.build_blobs_router(blobs))
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def test_one_module_per_tag_with_a_protocol_and_a_router_builder(fixturegen: ModuleType) -> None:
    assert sorted(fixturegen.__all__ or ()) == [
        "BlobsApi",
        "ItemsApi",
        "StockLevelsApi",
        "build_blobs_router",
        "build_items_router",
        "build_stock_levels_router",
    ]
    protocol = fixturegen.ItemsApi
    assert {"create_item", "get_item", "delete_item"} <= set(dir(protocol))


def test_routes_carry_the_spec_path_method_operation_id_and_status(fixturegen: ModuleType, items: _Items) -> None:
    router = fixturegen.build_items_router(items)
    routes = {
        (route.path, tuple(sorted(route.methods or ())), route.operation_id, route.status_code)
        for route in (context.original_route for context in iter_route_contexts(router.routes))
        if isinstance(route, APIRoute)
    }
    assert routes == {
        ("/items", ("POST",), "createItem", 201),
        ("/items/{item_id}", ("GET",), "getItem", 200),
        ("/items/{item_id}", ("DELETE",), "deleteItem", 204),
    }


def test_typed_parameters_reach_the_handler(items_client: TestClient, items: _Items) -> None:
    item_id = uuid4()
    response = items_client.get(f"/items/{item_id}?fields=5", headers={"If-None-Match": '"abc"'})
    assert response.status_code == 200
    assert items.calls[-1] == ("get_item", {"item_id": item_id, "fields": 5, "if_none_match": '"abc"'})
    items_client.get(f"/items/{item_id}")
    assert items.calls[-1][1]["fields"] == 3  # the spec's default
    assert items.calls[-1][1]["if_none_match"] is None


def test_responses_omit_unset_optional_fields_but_keep_required_nulls(items_client: TestClient) -> None:
    body = items_client.get(f"/items/{uuid4()}").json()
    assert body["note"] is None  # required and nullable: present as null
    assert "fields" not in body  # optional and unset: absent, never null


def test_reply_sets_status_headers_and_body(items_client: TestClient) -> None:
    response = items_client.post("/items", json={"name": "widget", "note": None})
    assert response.status_code == 201
    assert response.headers["location"] == f"/items/{response.json()['id']}"


def test_no_content_operation_answers_204_without_a_body(items_client: TestClient) -> None:
    response = items_client.delete(f"/items/{uuid4()}")
    assert response.status_code == 204
    assert response.content == b""


def test_a_streamed_body_reaches_the_handler_unread(items_client: TestClient, blobs: _Blobs) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"first "
        yield b"second"

    response = items_client.put("/blobs", content=chunks(), headers={"Content-Type": "application/octet-stream"})

    assert response.status_code == 204
    assert blobs.received == b"first second"


def test_a_streamed_body_in_another_media_type_is_415(items_client: TestClient, blobs: _Blobs) -> None:
    response = items_client.put("/blobs", content=b"x", headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert blobs.received == b""


def test_a_non_json_response_is_the_handlers_own(items_client: TestClient) -> None:
    response = items_client.get("/blobs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["x-rows"] == "1"
    assert response.content == b"a,b\r\n1,2\r\n"


def test_spec_constraints_are_enforced_with_located_errors(items_client: TestClient) -> None:
    response = items_client.get("/items/not-a-uuid?fields=11", headers={"If-None-Match": "x" * 65})
    assert response.status_code == 422
    located = {(k, v) for e in response.json()["errors"] for k, v in e.items() if k != "detail"}
    assert located == {("parameter", "item_id"), ("parameter", "fields"), ("header", "If-None-Match")}


def test_request_bodies_forbid_unknown_properties(items_client: TestClient) -> None:
    response = items_client.post("/items", json={"name": "", "colour": "red"})
    assert response.status_code == 422
    pointers = {e.get("pointer") for e in response.json()["errors"]}
    assert pointers == {"#/name", "#/colour"}


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"name": "widget", "name": "gadget"}', "The member 'name' appears more than once"),
        (b'{"outer": {"a": 1, "a": 2}, "name": "widget"}', "The member 'a' appears more than once"),
        ('{"name": "widget"}'.encode("utf-16"), "The body is not UTF-8"),
        ('{"name": "widget"}'.encode("utf-16-le"), "Expecting property name enclosed in double quotes"),
        (("\ufeff" + '{"name": "widget"}').encode(), "Unexpected UTF-8 BOM (decode using utf-8-sig)"),
    ],
)
def test_a_json_body_is_utf8_with_each_member_once(items_client: TestClient, body: bytes, problem: str) -> None:
    # RFC 8259 §8.1 and §4: json.loads alone would guess UTF-16 and keep the last of two equal names.
    response = items_client.post("/items", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"detail": problem, "pointer": "#"}]
    assert items_client.post("/items", json={"name": "widget"}).status_code == 201


@pytest.mark.parametrize("coding", ["gzip", "br", "deflate, gzip"])
def test_a_compressed_body_is_415_naming_identity(items_client: TestClient, coding: str) -> None:
    # Read as plain, a gzip body would be garbage (a 400 at best); RFC 9110 §15.5.16 and RFC 7694 say 415.
    body = gzip.compress(b'{"name": "widget"}')
    headers = {"Content-Type": "application/json", "Content-Encoding": coding}
    response = items_client.post("/items", content=body, headers=headers)
    assert response.status_code == 415
    assert response.headers["accept-encoding"] == "identity"
    assert "uncompressed" in response.json()["detail"]
    identity = items_client.post("/items", json={"name": "widget"}, headers={"Content-Encoding": "identity"})
    assert identity.status_code == 201


def test_a_body_in_an_undeclared_media_type_is_415(items_client: TestClient) -> None:
    response = items_client.post("/items", content=b"name=widget", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert "application/json" in response.json()["detail"]


def test_a_missing_required_body_is_422_not_415(items_client: TestClient) -> None:
    response = items_client.post("/items")
    assert response.status_code == 422


def test_the_router_binds_handlers_when_built(fixturegen: ModuleType) -> None:
    class Incomplete:
        async def create_item(self, *, body: Any) -> Any:
            raise NotImplementedError

    with pytest.raises(AttributeError, match="get_item"):
        fixturegen.build_items_router(Incomplete())


def test_output_is_deterministic(tmp_path: Path) -> None:
    generate_all(FIXTURE, tmp_path / "first" / "fixturegen", "fixturegen")
    generate_all(FIXTURE, tmp_path / "second" / "fixturegen", "fixturegen")
    first, second = tree(tmp_path / "first" / "fixturegen"), tree(tmp_path / "second" / "fixturegen")
    assert first == second
    assert all(text.startswith("# generated by") for text in first.values())


def _spec(change: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    operation = spec["paths"]["/stock"]["get"]
    operation.update(change)
    return spec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"operationId": None}, "needs an operationId"),
        ({"tags": ["a", "b"]}, "exactly one tag"),
        ({"responses": {"404": {"description": "x"}}}, "needs a 2xx response"),
        ({"responses": {"default": {"description": "x"}}}, "explicit status codes"),
        (
            {"requestBody": {"content": {"text/plain": {"schema": {"type": "string"}}}}},
            r"request bodies must be JSON \(optionally also application/x-www-form-urlencoded\), only",
        ),
        (
            {"requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object"}}}}},
            "a streamed request body must be `required`",
        ),
        (
            {
                "x-handler-reads-body": True,
                "requestBody": {"required": True, "content": {"text/plain": {"schema": {"type": "string"}}}},
            },
            "`x-handler-reads-body` is for JSON request bodies",
        ),
        (
            {
                "responses": {
                    "200": {
                        "description": "x",
                        "content": {
                            "application/json": {"schema": {}},
                            "application/merge-patch+json": {"schema": {}},
                            "text/csv": {"schema": {}},
                        },
                    }
                }
            },
            "mixes several JSON and other media types",
        ),
        (
            {"parameters": [{"name": "body", "in": "query", "schema": {"type": "string"}}]},
            "clashes",
        ),
        (
            {
                "requestBody": {
                    "content": {
                        "application/json": {"schema": {"type": "object"}},
                        "application/merge-patch+json": {"schema": {"type": "array"}},
                    }
                }
            },
            "every request media type must share one schema",
        ),
        (
            {"responses": {"200": {"description": "x", "content": {"application/json": {}}}}},
            "the 200 response needs a JSON schema",
        ),
    ],
)
def test_the_generator_refuses_what_it_cannot_type(change: dict[str, Any], message: str) -> None:
    from scripts.generate_api import render_tag

    def generate() -> str:
        operations = SpecReader(_spec(change)).operations()
        return render_tag("stock-levels", [op for op in operations if op.tag == "stock-levels"])

    with pytest.raises(SpecError, match=message):
        generate()


def test_a_json_body_the_handler_reads_itself_reaches_it_unparsed_but_still_checked_for_its_media_type() -> None:
    from scripts.generate_api import render_tag

    body = {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}}
    spec = _spec({"operationId": "countStock", "requestBody": body, "x-handler-reads-body": True})
    (operation,) = [op for op in SpecReader(spec).operations() if op.operation_id == "countStock"]
    rendered = render_tag("stock-levels", [operation])

    assert operation.body_is_streamed
    assert operation.body_annotation is None
    assert "async def count_stock(self, *, request: Request)" in rendered
    assert "require_content_type(('application/json',))" in rendered


def test_a_json_answer_that_may_also_be_csv_lets_the_handler_return_its_own_response() -> None:
    from scripts.generate_api import render_tag

    content = {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}, "text/csv": {"schema": {}}}
    spec = _spec({"operationId": "stockReport", "responses": {"200": {"description": "x", "content": content}}})
    (operation,) = [op for op in SpecReader(spec).operations() if op.operation_id == "stockReport"]
    rendered = render_tag("stock-levels", [operation])

    assert operation.also_other_media
    assert "async def stock_report(self) -> models.Item | Reply[models.Item] | Response:" in rendered


def test_the_project_spec_generates_without_errors() -> None:
    spec = yaml.safe_load((PROJECT_ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
    assert {op.operation_id for op in SpecReader(spec).operations()} >= {"getHealth", "getReadiness"}


def _secured_spec(change: dict[str, Any]) -> dict[str, Any]:
    spec = _spec({"security": [{"bearerAuth": []}], "x-roles": ["admin"], **change})
    spec.setdefault("components", {})["securitySchemes"] = {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    spec["components"].setdefault("schemas", {})["Role"] = {"type": "string", "enum": ["admin", "user"]}
    spec["x-rate-limit-policies"] = {"general": {"limit": 1, "window_seconds": 1}}
    responses = spec["paths"]["/stock"]["get"]["responses"]
    for status in ("401", "403", "404", "429", "503"):
        responses.setdefault(status, {"description": status})
    return spec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x-roles": None}, "must declare the roles allowed"),
        ({"x-roles": ["root"]}, "unknown roles"),
        ({"x-roles": ["user"], "x-self-only": ["admin"]}, "`x-self-only` roles must also be in `x-roles`"),
        ({"x-self-only": ["admin"]}, "needs the path parameter 'user_id'"),
        ({"security": [{"apiKey": []}]}, "not in components.securitySchemes"),
        ({"security": [], "x-roles": ["admin"]}, "would not be enforced"),
        ({"x-rate-limit": None}, "declare a rate-limit policy"),
        ({"x-rate-limit": "burst"}, "not in x-rate-limit-policies"),
    ],
)
def test_access_rules_must_be_complete_and_known(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(message) if "`" in message else message):
        SpecReader(_secured_spec(change)).operations()


@pytest.mark.parametrize(
    ("status", "change"), [("401", {}), ("403", {}), ("429", {"x-rate-limit": "general"}), ("503", {})]
)
def test_every_status_the_guard_can_answer_must_be_declared(status: str, change: dict[str, Any]) -> None:
    spec = _secured_spec(change)
    del spec["paths"]["/stock"]["get"]["responses"][status]
    with pytest.raises(SpecError, match=f"can answer {status}"):
        SpecReader(spec).operations()


def test_an_invalid_header_alone_is_a_422_naming_it(items_client: TestClient, items: _Items) -> None:
    calls = len(items.calls)
    response = items_client.get(f"/items/{uuid4()}", headers={"If-None-Match": "x" * 65})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["header"], error["detail"]) == ("If-None-Match", "String should have at most 64 characters")
    assert "x" * 65 not in response.text  # never echoed
    assert len(items.calls) == calls  # the handler was not called


def test_of_a_repeated_header_the_first_counts(items_client: TestClient, items: _Items) -> None:
    response = items_client.get(
        f"/items/{uuid4()}", headers=[("If-None-Match", '"first"'), ("If-None-Match", '"second"')]
    )
    assert response.status_code == 200
    assert items.calls[-1][1]["if_none_match"] == '"first"'
