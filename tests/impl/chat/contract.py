"""The AsyncAPI document as the tests' oracle: every frame a test receives is checked against its schemas."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml
from jsonschema import Draft7Validator

from impl.platform.settings import PROJECT_ROOT

ASYNCAPI = PROJECT_ROOT / "spec" / "asyncapi.yaml"


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    return loaded


@cache
def validator(schema_name: str) -> Draft7Validator:
    # The document is the root, so "#/components/schemas/..." references resolve inside it.
    root = {"$ref": f"#/components/schemas/{schema_name}", "components": document()["components"]}
    return Draft7Validator(root, format_checker=Draft7Validator.FORMAT_CHECKER)


def server_frame(raw: str | bytes) -> dict[str, Any]:
    """A frame the service sent, decoded, after checking it is a ServerMessage of the contract."""
    assert isinstance(raw, str), "the chat sends text frames only"
    frame: dict[str, Any] = json.loads(raw)
    validator("ServerMessage").validate(frame)
    return frame
