"""The HTTP headers the OpenAPI document declares: what operations read from a request and send in an answer.

Derived from the loaded document at start-up, so what CORS lets a browser send and read can never drift from the
contract: a header parameter or a response header added to the spec is allowed cross-origin with no other edit.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from impl.platform.openapi_document import HTTP_METHODS


@dataclass(frozen=True, slots=True)
class SpecHeaders:
    request: tuple[str, ...]  # every header parameter of any operation, as the spec spells it, sorted
    response: tuple[str, ...]  # every header any response declares, as the spec spells it, sorted

    @classmethod
    def of(cls, document: Mapping[str, Any]) -> SpecHeaders:
        request: set[str] = set()
        response: set[str] = set()
        for item in document.get("paths", {}).values():
            shared = item.get("parameters", [])
            for method in HTTP_METHODS:
                operation = item.get(method)
                if operation is None:
                    continue
                for parameter in (*shared, *operation.get("parameters", [])):
                    parameter = _resolve(document, parameter)
                    if parameter.get("in") == "header":
                        request.add(str(parameter["name"]))
                for answer in operation.get("responses", {}).values():
                    response.update(str(name) for name in _resolve(document, answer).get("headers", {}))
        return cls(request=_sorted(request), response=_sorted(response))


def _sorted(names: set[str]) -> tuple[str, ...]:
    # Header names are case-insensitive: one spelling each, in a stable order.
    unique = {name.lower(): name for name in sorted(names)}
    return tuple(sorted(unique.values(), key=str.lower))


def _resolve(document: Mapping[str, Any], node: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow local ``$ref``s (``#/components/...``) until a node that is not a reference."""
    seen: set[str] = set()
    while "$ref" in node:
        reference = str(node["$ref"])
        if not reference.startswith("#/") or reference in seen:
            raise ValueError(f"cannot resolve {reference!r} in the OpenAPI document")
        seen.add(reference)
        node = document
        for key in _pointer(reference):
            node = node[key]
    return node


def _pointer(reference: str) -> Iterator[str]:
    # RFC 6901: ~1 is '/', ~0 is '~'.
    for token in reference[2:].split("/"):
        yield token.replace("~1", "/").replace("~0", "~")
