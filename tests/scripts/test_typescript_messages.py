"""The AsyncAPI document's schemas as an OpenAPI document for openapi-typescript: references into openapi.yaml made
local with the schemas they need, AsyncAPI's string discriminators dropped, and the aliases frontends import."""

from __future__ import annotations

from typing import Any

import pytest

from scripts.spec_reader import SpecError
from scripts.typescript_messages import aliases, schemas_document

OPENAPI: dict[str, Any] = {
    "components": {
        "schemas": {
            "User": {"type": "object", "properties": {"role": {"$ref": "#/components/schemas/Role"}}},
            "Role": {"type": "string", "enum": ["admin", "user"]},
            "Unused": {"type": "string"},
        }
    }
}


def _asyncapi(schemas: dict[str, Any]) -> dict[str, Any]:
    return {"info": {"title": "Chat", "version": "1.2.3"}, "components": {"schemas": schemas}}


def test_a_reference_into_openapi_yaml_brings_that_schema_and_what_it_references() -> None:
    asyncapi = _asyncapi(
        {
            "UserEventData": {
                "type": "object",
                "properties": {"user": {"$ref": "./openapi.yaml#/components/schemas/User"}},
            }
        }
    )

    document = schemas_document(asyncapi, OPENAPI)

    schemas = document["components"]["schemas"]
    assert schemas["UserEventData"]["properties"]["user"] == {"$ref": "#/components/schemas/User"}
    assert sorted(schemas) == ["Role", "User", "UserEventData"]  # not Unused
    assert document["openapi"].startswith("3.1")
    assert document["paths"] == {}
    assert document["info"]["version"] == "1.2.3"


def test_a_name_both_documents_define_is_refused() -> None:
    asyncapi = _asyncapi(
        {
            "Role": {"type": "string"},
            "Data": {"properties": {"user": {"$ref": "./openapi.yaml#/components/schemas/User"}}},
        }
    )

    with pytest.raises(SpecError, match="both documents define a schema 'Role', differently"):
        schemas_document(asyncapi, OPENAPI)


def test_a_reference_to_anything_else_is_refused() -> None:
    asyncapi = _asyncapi({"Data": {"$ref": "./other.yaml#/Thing"}})

    with pytest.raises(SpecError, match=r"points neither into its own schemas nor openapi\.yaml's"):
        schemas_document(asyncapi, OPENAPI)


def test_an_asyncapi_discriminator_is_dropped_and_the_union_kept() -> None:
    union = {"oneOf": [{"$ref": "#/components/schemas/Join"}], "discriminator": "type"}

    document = schemas_document(_asyncapi({"ClientMessage": union, "Join": {"type": "object"}}), OPENAPI)

    assert document["components"]["schemas"]["ClientMessage"] == {"oneOf": [{"$ref": "#/components/schemas/Join"}]}


def test_the_bus_event_union_is_every_message_of_the_events_channel() -> None:
    asyncapi = {
        "channels": {
            "events": {
                "messages": {
                    "created": {"$ref": "#/components/messages/Created"},
                    "inline": {"payload": {"$ref": "#/components/schemas/DeletedEvent"}},
                }
            }
        },
        "components": {"messages": {"Created": {"payload": {"$ref": "#/components/schemas/CreatedEvent"}}}},
    }

    text = aliases(asyncapi)

    assert 'export type ChatClientMessage = components["schemas"]["ClientMessage"];' in text
    assert (
        'export type BusEvent = components["schemas"]["CreatedEvent"] | components["schemas"]["DeletedEvent"];' in text
    )
