"""scripts/generate_messages.py: the AsyncAPI schemas become Pydantic models that accept exactly what the contract
says (each spec example parses into its class, discriminated by ``type``) and refuse anything else."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from generated import messages
from scripts.generate import ROOT
from scripts.generate_messages import AsyncApiError, json_schema

ASYNCAPI = ROOT / "spec" / "asyncapi.yaml"


def _spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ASYNCAPI.read_text(encoding="utf-8"))
    return loaded


def test_references_point_at_definitions_and_named_strings_are_inlined() -> None:
    definitions = json_schema(_spec())["definitions"]
    assert definitions["ChatMessageEvent"]["properties"]["data"] == {"$ref": "#/definitions/ChatMessageEventData"}
    assert definitions["JoinMessage"]["properties"]["room"]["pattern"] == "^[a-z0-9][a-z0-9_-]{0,63}$"
    assert "RoomName" not in definitions
    assert "ErrorCode" in definitions  # an enum stays a class


def test_the_asyncapi_discriminator_becomes_the_generators_form() -> None:
    definitions = json_schema(_spec())["definitions"]
    assert definitions["ClientMessage"]["discriminator"] == {"propertyName": "type"}
    assert definitions["ServerMessage"]["discriminator"] == {"propertyName": "type"}


def test_resources_of_the_http_api_are_open_objects_here() -> None:
    user = json_schema(_spec())["definitions"]["UserEventData"]["properties"]["user"]
    assert user["type"] == "object"
    assert "$ref" not in user


def test_only_asyncapi_3_documents_are_accepted() -> None:
    with pytest.raises(AsyncApiError, match="AsyncAPI 3"):
        json_schema({"asyncapi": "2.6.0", "components": {"schemas": {"X": {"type": "object"}}}})
    with pytest.raises(AsyncApiError, match=r"components\.schemas"):
        json_schema({"asyncapi": "3.0.0"})
    with pytest.raises(AsyncApiError, match=r"components\.schemas must define"):
        json_schema({"asyncapi": "3.0.0", "components": {"schemas": {"X": {"type": "object"}}}})


def _examples(operation: str) -> list[dict[str, Any]]:
    spec = _spec()
    found = []
    for ref in spec["operations"][operation]["messages"]:
        name = ref["$ref"].rsplit("/", 1)[-1]
        message_ref = spec["channels"]["chat"]["messages"][name]["$ref"].rsplit("/", 1)[-1]
        found += [example["payload"] for example in spec["components"]["messages"][message_ref].get("examples", [])]
    return found


@pytest.mark.parametrize(
    ("operation", "union"),
    [("receiveChatCommands", messages.ClientMessage), ("sendChatUpdates", messages.ServerMessage)],
)
def test_every_example_parses_into_the_class_its_type_names(operation: str, union: Any) -> None:
    examples = _examples(operation)
    assert len(examples) >= 4
    for example in examples:
        parsed = union.model_validate(example).root
        assert parsed.type == example["type"]
        assert parsed.model_dump(mode="json") == example


def test_the_models_refuse_what_the_contract_does_not_allow() -> None:
    for invalid in (
        {"type": "join"},
        {"type": "join", "room": "Lobby"},
        {"type": "say", "room": "lobby", "text": ""},
        {"type": "say", "room": "lobby", "text": "x" * 1001},
        {"type": "ping", "extra": True},
        {"type": "welcome", "user_id": "not-a-uuid", "rooms": []},
    ):
        with pytest.raises(ValidationError):
            messages.ClientMessage.model_validate(invalid)
    with pytest.raises(ValidationError):
        messages.ErrorMessage(code=messages.ErrorCode.not_in_room, detail=3)  # type: ignore[arg-type]


def test_messages_are_immutable_values() -> None:
    join = messages.JoinMessage(room="lobby")
    with pytest.raises(ValidationError):
        join.room = "other"  # type: ignore[misc]
