"""TypeScript types for spec/asyncapi.yaml: the chat's frames and the event bus's envelopes (``messages.d.ts``).

openapi-typescript (already pinned for the HTTP types) writes them: the AsyncAPI document's ``components.schemas``
become the ``components.schemas`` of a path-less OpenAPI 3.1 document. Two rewrites make that document valid:

- references into ``openapi.yaml`` (the User and FileMetadata resources inside events) point at copies of those
  schemas, and of the schemas they reference in turn, taken from the OpenAPI document; a name both documents
  define differently is refused rather than guessed;
- AsyncAPI's ``discriminator: <property>`` (a string, not OpenAPI's object) is dropped: each member of a union
  states its ``type`` as a ``const``, which is what TypeScript narrows on.

Aliases follow the generated interface: ``ChatClientMessage`` and ``ChatServerMessage`` (the chat's unions) and
``BusEvent``, the union of the payloads of the ``events`` channel's messages, so an event added to the document
joins the union.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from scripts.spec_reader import SpecError

SCHEMAS_PREFIX = "#/components/schemas/"
OPENAPI_PREFIX = "./openapi.yaml#/components/schemas/"
CHAT_UNIONS = {"ChatClientMessage": "ClientMessage", "ChatServerMessage": "ServerMessage"}
EVENTS_CHANNEL = "events"


def _rewrite(node: Any, external: set[str]) -> Any:
    """``node`` with references into openapi.yaml made local (their names collected in ``external``)."""
    if isinstance(node, list):
        return [_rewrite(item, external) for item in node]
    if not isinstance(node, dict):
        return node
    rewritten = {key: _rewrite(value, external) for key, value in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(OPENAPI_PREFIX):
        name = ref.removeprefix(OPENAPI_PREFIX)
        external.add(name)
        rewritten["$ref"] = SCHEMAS_PREFIX + name
    elif isinstance(ref, str) and not ref.startswith(SCHEMAS_PREFIX):
        raise SpecError(f"asyncapi.yaml: reference {ref!r} points neither into its own schemas nor openapi.yaml's")
    # openapi-typescript would answer a discriminator without a mapping by overwriting each member's `type` with
    # the member schema's name; the members' `type` consts already make the union one TypeScript narrows.
    rewritten.pop("discriminator", None)
    return rewritten


def _references(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*(_references(item) for item in node))
    if not isinstance(node, dict):
        return set()
    found = set().union(*(_references(value) for value in node.values()))
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith(SCHEMAS_PREFIX):
        found.add(ref.removeprefix(SCHEMAS_PREFIX))
    return found


def schemas_document(asyncapi: dict[str, Any], openapi: dict[str, Any]) -> dict[str, Any]:
    """A path-less OpenAPI 3.1 document whose schemas are the AsyncAPI document's and the OpenAPI ones they use."""
    external: set[str] = set()
    schemas = {name: _rewrite(schema, external) for name, schema in asyncapi["components"]["schemas"].items()}
    available = openapi["components"]["schemas"]
    pending = sorted(external)
    while pending:
        name = pending.pop()
        if name not in available:
            raise SpecError(f"asyncapi.yaml refers to openapi.yaml's schema {name!r}, which it does not define")
        if name in schemas:
            if schemas[name] != available[name]:
                raise SpecError(f"both documents define a schema {name!r}, differently; rename one")
            continue
        schemas[name] = available[name]
        pending += sorted(_references(available[name]))
    info = {"title": f"{asyncapi['info']['title']} (message schemas)", "version": asyncapi["info"]["version"]}
    return {"openapi": "3.1.1", "info": info, "paths": {}, "components": {"schemas": schemas}}


def _payload_schema(asyncapi: dict[str, Any], message: dict[str, Any]) -> str:
    ref = message.get("$ref", "")
    if ref.startswith("#/components/messages/"):
        message = asyncapi["components"]["messages"][ref.removeprefix("#/components/messages/")]
    payload = message.get("payload", {}).get("$ref", "")
    if not payload.startswith(SCHEMAS_PREFIX):
        raise SpecError(f"asyncapi.yaml: a message of channel {EVENTS_CHANNEL!r} has no payload schema reference")
    return str(payload.removeprefix(SCHEMAS_PREFIX))


def aliases(asyncapi: dict[str, Any]) -> str:
    """The named types a frontend imports: the chat's two unions and the union of the bus's events."""
    lines = []
    for alias, schema in CHAT_UNIONS.items():
        lines.append(f'export type {alias} = components["schemas"][{json.dumps(schema)}];')
    events = [
        _payload_schema(asyncapi, message) for message in asyncapi["channels"][EVENTS_CHANNEL]["messages"].values()
    ]
    union = " | ".join(f'components["schemas"][{json.dumps(name)}]' for name in events)
    lines.append(
        f"/** An event of the event bus, as the SSE stream's `data:` carries it. */\nexport type BusEvent = {union};"
    )
    return "\n".join(lines) + "\n"


def write_schemas_document(asyncapi_path: Path, openapi_path: Path, folder: Path) -> tuple[Path, dict[str, Any]]:
    """The schemas document written into ``folder`` (for openapi-typescript, which reads a file) and the AsyncAPI
    document it came from."""
    asyncapi = yaml.safe_load(asyncapi_path.read_text(encoding="utf-8"))
    openapi = yaml.safe_load(openapi_path.read_text(encoding="utf-8"))
    target = folder / "asyncapi-schemas.json"
    target.write_text(json.dumps(schemas_document(asyncapi, openapi)), encoding="utf-8")
    return target, asyncapi


def render_messages(asyncapi_path: Path, openapi_path: Path, render: Callable[[Path], str]) -> str:
    """messages.d.ts: ``render`` (openapi-typescript on a file) over the schemas document, then the aliases."""
    with tempfile.TemporaryDirectory(prefix="charter-asyncapi-") as scratch:
        document, asyncapi = write_schemas_document(asyncapi_path, openapi_path, Path(scratch))
        return render(document) + "\n" + aliases(asyncapi)
