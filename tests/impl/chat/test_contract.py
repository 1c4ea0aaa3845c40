"""The AsyncAPI document itself: version 3.0.0, in step with the OpenAPI document, every reference resolves, every
payload is a valid JSON Schema (draft-07) and every example satisfies its payload.

No AsyncAPI validator is installed (node_modules has Redocly only; the Python env has none), so these are the
structural checks that matter for the tests and the generator, which both read the schemas as JSON Schema.
"""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from impl.platform.settings import PROJECT_ROOT
from tests.impl.chat.contract import ASYNCAPI, document

pytestmark = pytest.mark.unit

OPENAPI = PROJECT_ROOT / "spec" / "openapi.yaml"


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []


def _pointer(root: Any, pointer: str) -> Any:
    node = root
    for part in pointer.lstrip("/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _resolve(ref: str) -> Any:
    target, _, pointer = ref.partition("#")
    if target in ("", "./asyncapi.yaml"):
        return _pointer(document(), pointer)
    assert target == "./openapi.yaml", f"{ref}: only the OpenAPI document beside it may be referenced"
    return _pointer(yaml.safe_load(OPENAPI.read_text(encoding="utf-8")), pointer)


def test_it_is_asyncapi_3_with_the_openapi_documents_version() -> None:
    openapi = yaml.safe_load(OPENAPI.read_text(encoding="utf-8"))
    assert document()["asyncapi"] == "3.0.0"
    assert document()["info"]["version"] == openapi["info"]["version"]


def test_every_reference_resolves() -> None:
    refs = set(_refs(document()))
    assert any(ref.startswith("./openapi.yaml#") for ref in refs)
    for ref in sorted(refs):
        assert _resolve(ref) is not None, ref


def test_the_chat_channel_has_the_ws_address_and_both_directions() -> None:
    chat = document()["channels"]["chat"]
    assert chat["address"] == "/api/v1/ws/chat"
    actions = {op["action"] for op in document()["operations"].values() if op["channel"]["$ref"] == "#/channels/chat"}
    assert actions == {"send", "receive"}


MESSAGES = sorted(document()["components"]["messages"].items())


@pytest.mark.parametrize(("name", "message"), MESSAGES, ids=[name for name, _ in MESSAGES])
def test_every_payload_is_a_json_schema_and_every_example_satisfies_it(name: str, message: dict[str, Any]) -> None:
    payload = _resolve(message["payload"]["$ref"])
    Draft7Validator.check_schema(payload)
    root = {**message["payload"], "components": document()["components"]}
    for example in message.get("examples", []):
        Draft7Validator(root).validate(example["payload"])


def test_every_schema_is_a_json_schema() -> None:
    for name, schema in document()["components"]["schemas"].items():
        Draft7Validator.check_schema(schema)
        assert name[0].isupper(), f"{name} is not PascalCase"


def test_the_document_is_the_file_the_service_serves() -> None:
    assert ASYNCAPI.name == "asyncapi.yaml"
    assert ASYNCAPI.parent == OPENAPI.parent  # so "./openapi.yaml" references resolve on disk and over HTTP
