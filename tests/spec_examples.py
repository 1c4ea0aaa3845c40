"""Finds every example in an OpenAPI 3.1 document and checks it against its schema; lists the examples missing.

Used by tests/test_spec_examples.py. Examples are validated with a JSON Schema 2020-12 validator (OpenAPI 3.1's
dialect), `$ref`s resolved inside the document, and formats (date-time, uuid, email, uri-reference) checked, not just
annotated. Where they are looked for: media types (`example`, `examples`, in request bodies, responses, parameters and
headers), parameters and headers (`example`, `examples`), and schemas (`examples`, `example`), recursively.
"""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry
from referencing.jsonschema import DRAFT202012

DOCUMENT = "urn:charter:openapi"
HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")
# Bytes that YAML cannot carry honestly (an image, a PDF, an octet stream): no example is asked for or checked.
BINARY_MEDIA = ("image/", "application/pdf", "application/octet-stream")
# Schema keywords whose value is a schema, or a list or map of schemas (JSON Schema 2020-12).
SUBSCHEMA = (
    *("items", "not", "if", "then", "else", "contains", "additionalProperties", "propertyNames"),
    *("unevaluatedItems", "unevaluatedProperties", "contentSchema"),
)
SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "dependentSchemas")


@dataclass(frozen=True)
class Example:
    where: str  # a JSON Pointer into the spec, to the example itself
    value: Any
    schema: str  # a JSON Pointer to the schema it must satisfy
    media_type: str | None  # None for parameter, header and schema examples


def pointer(*parts: str) -> str:
    return "#/" + "/".join(str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def resolve(spec: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part.replace("~1", "/").replace("~0", "~")]
        node = target
    return node


def is_binary(media_type: str) -> bool:
    return media_type.startswith(BINARY_MEDIA)


def named_examples(spec: dict[str, Any], holder: dict[str, Any], at: str) -> Iterator[tuple[str, Any]]:
    """(pointer, value) of an object's `example` and each of its `examples` (an Example Object map)."""
    if "example" in holder:
        yield f"{at}/example", holder["example"]
    for name, entry in holder.get("examples", {}).items():
        resolved = resolve(spec, entry)
        if "externalValue" in resolved:
            raise AssertionError(f"{at}/examples/{name}: externalValue cannot be validated; inline the value")
        yield f"{at}/examples/{name}", resolved["value"]


def schema_examples(node: Any, at: str) -> Iterator[Example]:
    """A schema's own `examples` (a list) and `example`, then those of every subschema."""
    if not isinstance(node, dict):
        return
    for index, value in enumerate(node.get("examples", [])):
        yield Example(f"{at}/examples/{index}", value, at, None)
    if "example" in node:
        yield Example(f"{at}/example", node["example"], at, None)
    for key in SUBSCHEMA:
        if key in node:
            yield from schema_examples(node[key], f"{at}/{key}")
    for key in SUBSCHEMA_LISTS:
        for index, child in enumerate(node.get(key, [])):
            yield from schema_examples(child, f"{at}/{key}/{index}")
    for key in SUBSCHEMA_MAPS:
        for name, child in node.get(key, {}).items():
            yield from schema_examples(child, f"{at}/{key}/{pointer(name)[2:]}")


def content_examples(spec: dict[str, Any], content: dict[str, Any], at: str) -> Iterator[Example]:
    for media_type, media in content.items():
        media_at = f"{at}/content/{pointer(media_type)[2:]}"
        for where, value in named_examples(spec, media, media_at):
            yield Example(where, value, f"{media_at}/schema", media_type)
        yield from schema_examples(media.get("schema"), f"{media_at}/schema")


def parameter_examples(spec: dict[str, Any], parameter: dict[str, Any], at: str) -> Iterator[Example]:
    """A parameter's or header's examples (a `$ref` to components is walked there, not here)."""
    if "$ref" in parameter:
        return
    for where, value in named_examples(spec, parameter, at):
        yield Example(where, value, f"{at}/schema", None)
    yield from schema_examples(parameter.get("schema"), f"{at}/schema")
    yield from content_examples(spec, parameter.get("content", {}), at)


def response_examples(spec: dict[str, Any], response: dict[str, Any], at: str) -> Iterator[Example]:
    if "$ref" in response:
        return
    for name, header in response.get("headers", {}).items():
        yield from parameter_examples(spec, header, f"{at}/headers/{pointer(name)[2:]}")
    yield from content_examples(spec, response.get("content", {}), at)


def all_examples(spec: dict[str, Any]) -> Iterator[Example]:
    """Every example in the document, each once (shared components are walked where they are defined)."""
    for path, item in spec.get("paths", {}).items():
        item_at = pointer("paths", path)
        for index, parameter in enumerate(item.get("parameters", [])):
            yield from parameter_examples(spec, parameter, f"{item_at}/parameters/{index}")
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation, operation_at = item[method], f"{item_at}/{method}"
            for index, parameter in enumerate(operation.get("parameters", [])):
                yield from parameter_examples(spec, parameter, f"{operation_at}/parameters/{index}")
            body = operation.get("requestBody", {})
            if "$ref" not in body:
                yield from content_examples(spec, body.get("content", {}), f"{operation_at}/requestBody")
            for status, response in operation.get("responses", {}).items():
                yield from response_examples(spec, response, f"{operation_at}/responses/{status}")
    components = spec.get("components", {})
    for name, schema in components.get("schemas", {}).items():
        yield from schema_examples(schema, pointer("components", "schemas", name))
    for kind in ("parameters", "headers"):
        for name, parameter in components.get(kind, {}).items():
            yield from parameter_examples(spec, parameter, pointer("components", kind, name))
    for name, response in components.get("responses", {}).items():
        yield from response_examples(spec, response, pointer("components", "responses", name))
    for name, body in components.get("requestBodies", {}).items():
        yield from content_examples(spec, body.get("content", {}), pointer("components", "requestBodies", name))


def _date_time(value: object) -> bool:
    # RFC 3339 needs a time zone; fromisoformat also accepts a naive time, which is refused here.
    return not isinstance(value, str) or (len(value) > 10 and datetime.fromisoformat(value).tzinfo is not None)


def _uuid(value: object) -> bool:
    return not isinstance(value, str) or str(uuid.UUID(value)) == value.lower()


def _email(value: object) -> bool:
    return not isinstance(value, str) or ("@" in value and " " not in value)


def _uri_reference(value: object) -> bool:
    # No whitespace or control characters (RFC 3986 has none), and urlsplit must accept it (raises ValueError).
    return not isinstance(value, str) or (not any(c.isspace() or ord(c) < 32 for c in value) and bool(urlsplit(value)))


def format_checker() -> FormatChecker:
    """The formats the spec uses, checked with the standard library: jsonschema silently passes a format it has no
    library for, which would let a bad date-time through."""
    checker = FormatChecker(formats=())
    checker.checks("date-time", raises=ValueError)(_date_time)
    checker.checks("uuid", raises=ValueError)(_uuid)
    checker.checks("email")(_email)
    checker.checks("uri-reference", raises=ValueError)(_uri_reference)
    return checker


class ExampleValidator:
    """Validates values against schemas named by JSON Pointers into the spec, `$ref`s resolved in the document."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.registry: Registry[Any] = Registry().with_resource(DOCUMENT, DRAFT202012.create_resource(spec))
        self.formats = format_checker()

    def errors(self, value: Any, schema_pointer: str) -> list[str]:
        validator = Draft202012Validator(
            {"$ref": f"{DOCUMENT}{schema_pointer}"}, registry=self.registry, format_checker=self.formats
        )
        found = [
            f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in validator.iter_errors(value)
        ]
        return found + self.embedded_json_errors(value, schema_pointer)

    def embedded_json_errors(self, value: Any, schema_pointer: str) -> list[str]:
        """A string property holding JSON (`contentMediaType: application/json` with a `contentSchema`, as an SSE
        event's `data`) is parsed and validated too: JSON Schema only annotates it."""
        schema_pointer = self.target(schema_pointer)
        schema = self.at(schema_pointer)
        if not isinstance(value, dict) or not isinstance(schema, dict):
            return []
        found = []
        for name in schema.get("properties", {}):
            prop_pointer = self.target(f"{schema_pointer}/properties/{pointer(name)[2:]}")
            prop = self.at(prop_pointer)
            if name in value and prop.get("contentMediaType") == "application/json" and "contentSchema" in prop:
                try:
                    embedded = json.loads(value[name])
                except (TypeError, ValueError) as error:
                    found.append(f"{name}: not JSON ({error})")
                    continue
                found += [f"{name} (JSON): {e}" for e in self.errors(embedded, f"{prop_pointer}/contentSchema")]
        return found

    def at(self, schema_pointer: str) -> Any:
        node: Any = self.spec
        for part in schema_pointer.removeprefix("#/").split("/"):
            key = part.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def target(self, schema_pointer: str) -> str:
        """The pointer a schema's `$ref` chain ends at."""
        node = self.at(schema_pointer)
        while isinstance(node, dict) and "$ref" in node:
            schema_pointer = node["$ref"]
            node = self.at(schema_pointer)
        return schema_pointer


def text_shape_errors(example: Example) -> list[str]:
    """Formats JSON Schema cannot describe line by line: each NDJSON line is a JSON object, a CSV has a header row
    and rows of the same width."""
    if not isinstance(example.value, str):
        return [f"a {example.media_type} example must be text"]
    lines = [line for line in example.value.splitlines() if line.strip()]
    if example.media_type == "application/x-ndjson":
        errors = []
        for number, line in enumerate(lines, 1):
            try:
                if not isinstance(json.loads(line), dict):
                    errors.append(f"line {number}: not a JSON object")
            except ValueError as error:
                errors.append(f"line {number}: not JSON ({error})")
        return errors or ([] if lines else ["no lines"])
    if example.media_type == "text/csv":
        rows = list(csv.reader(io.StringIO(example.value)))
        if len(rows) < 2:
            return ["a CSV example needs a header row and at least one row"]
        return [
            f"row {n}: {len(row)} columns, the header has {len(rows[0])}"
            for n, row in enumerate(rows, 1)
            if len(row) != len(rows[0])
        ]
    return []


def example_errors(spec: dict[str, Any]) -> list[str]:
    """Every invalid example, as `pointer: error`."""
    validator = ExampleValidator(spec)
    found = []
    for example in all_examples(spec):
        media = example.media_type
        if media is not None and is_binary(media):
            found.append(f"{example.where}: binary media ({media}) examples cannot be checked; remove it")
            continue
        errors = validator.errors(example.value, example.schema)
        if media in ("application/x-ndjson", "text/csv"):
            errors += text_shape_errors(example)
        found += [f"{example.where}: {error}" for error in errors]
    return found


def coverage_gaps(spec: dict[str, Any]) -> list[str]:
    """What an operation lacks: every request body and every response with a (non-binary) body needs named
    examples, each with a summary; the success response needs at least one; path parameters need an example."""
    gaps = []
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            operation = item[method]
            label = f"{method.upper()} {path} ({operation.get('operationId')})"
            bodies = [("request body", resolve(spec, operation.get("requestBody", {})))]
            responses = operation.get("responses", {})
            bodies += [(f"response {status}", resolve(spec, raw)) for status, raw in responses.items()]
            for what, body in bodies:
                for media_type, media in body.get("content", {}).items():
                    if is_binary(media_type):
                        continue
                    examples = {name: resolve(spec, entry) for name, entry in media.get("examples", {}).items()}
                    if not examples:
                        gaps.append(f"{label}: {what} {media_type} has no named `examples`")
                    gaps += [
                        f"{label}: {what} {media_type} example {name!r} has no summary"
                        for name, entry in examples.items()
                        if not entry.get("summary")
                    ]
            success = min((status for status in responses if str(status).startswith("2")), default=None)
            if success is not None:
                content = resolve(spec, responses[success]).get("content", {})
                if content and not any(media.get("examples") for media in content.values()):
                    gaps.append(f"{label}: the {success} response has no example")
            parameters = [resolve(spec, raw) for raw in [*item.get("parameters", []), *operation.get("parameters", [])]]
            for parameter in parameters:
                schema = resolve(spec, parameter.get("schema", {}))
                documented = {"example", "examples"} & set(parameter) or {"examples", "enum", "default"} & set(schema)
                if parameter["in"] == "path" and not documented:
                    gaps.append(f"{label}: path parameter {parameter['name']!r} has no example")
    return gaps
