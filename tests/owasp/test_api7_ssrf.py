"""API7:2023 Server Side Request Forgery — not applicable: the service fetches no URL a client supplies.

Nothing in the service makes outbound HTTP requests on a client's behalf, and the contract offers no way to hand it
one: no request body member or parameter is a URL (`format: uri`, `url`, `iri`...), none is named like one, and no
operation declares `callbacks` or `webhooks`. This test keeps it so: adding such a field fails here, and whoever adds
it must then add the allow-list and no-redirect rules (see ../shared/reference/security-requirements.md, API7).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from impl.platform.settings import PROJECT_ROOT

SPEC: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))
URL_FORMATS = {"uri", "url", "iri", "uri-reference", "iri-reference", "uri-template", "hostname", "ipv4", "ipv6"}
URL_NAMES = ("url", "uri", "href", "link", "callback", "webhook", "host", "endpoint", "redirect")
METHODS = ("get", "head", "options", "post", "put", "patch", "delete")


def _resolve(node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = SPEC
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def _fields(schema: Any, where: str, seen: frozenset[int] = frozenset()) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every (location, schema) reachable from a request schema, $refs and combinators followed."""
    schema = _resolve(schema)
    if not isinstance(schema, dict) or id(schema) in seen:
        return
    seen |= {id(schema)}
    yield where, schema
    for name, member in schema.get("properties", {}).items():
        yield from _fields(member, f"{where}.{name}", seen)
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield from _fields(schema[key], f"{where}[]", seen)
    for key in ("allOf", "anyOf", "oneOf"):
        for index, part in enumerate(schema.get(key, [])):
            yield from _fields(part, f"{where}/{key}{index}", seen)


def _request_fields() -> Iterator[tuple[str, dict[str, Any]]]:
    for item in SPEC["paths"].values():
        for method in METHODS:
            if method not in item:
                continue
            operation = item[method]
            where = f"{operation['operationId']}"
            for raw in [*item.get("parameters", []), *operation.get("parameters", [])]:
                parameter = _resolve(raw)
                yield from _fields(parameter.get("schema", {}), f"{where} {parameter['in']}:{parameter['name']}")
            body = _resolve(operation.get("requestBody", {}))
            for media_type, content in body.get("content", {}).items():
                yield from _fields(content.get("schema", {}), f"{where} body({media_type})")


def test_the_scan_sees_every_request_field() -> None:
    # The control: the walker does reach request members (an empty scan would prove nothing).
    found = {where for where, _ in _request_fields()}
    assert "createUser body(application/json).email" in found
    assert "listUsers query:limit" in found


def test_no_request_field_is_a_url() -> None:
    offending = [
        where
        for where, schema in _request_fields()
        if schema.get("format") in URL_FORMATS or where.rsplit(".", 1)[-1].lower().endswith(URL_NAMES)
    ]

    assert offending == [], f"request fields that could make the service fetch a URL: {offending}"


def test_no_operation_declares_callbacks_or_webhooks() -> None:
    assert "webhooks" not in SPEC
    for item in SPEC["paths"].values():
        for method in METHODS:
            assert "callbacks" not in item.get(method, {})
