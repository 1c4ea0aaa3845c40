"""Every example in spec/openapi.yaml is valid against its schema, and every operation has the examples it needs.

The examples are what frontends see first: the docs show them, the Prism mock answers with them and Schemathesis'
examples phase sends them (schemathesis.toml). An example that drifts from its schema would teach the wrong
contract. The walker and the validator are in tests/spec_examples.py; the tests below also prove they catch a
broken or missing example.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
import yaml

from tests.spec_examples import Example, all_examples, coverage_gaps, example_errors, pointer, text_shape_errors

SPEC_PATH = Path(__file__).resolve().parent.parent / "spec" / "openapi.yaml"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return loaded


def test_every_example_is_valid_against_its_schema(spec: dict[str, Any]) -> None:
    assert example_errors(spec) == []


def test_the_walk_finds_the_examples_of_every_kind(spec: dict[str, Any]) -> None:
    # Guards the walker itself: were it to stop descending somewhere, the test above would pass on nothing.
    found = list(all_examples(spec))
    where = {example.where for example in found}
    assert len(found) > 90
    login = pointer("paths", "/api/v1/auth/login", "post", "requestBody", "content", "application/json")
    assert f"{login}/examples/ada" in where
    invalid = pointer("components", "responses", "ValidationFailed", "content", "application/problem+json")
    assert f"{invalid}/examples/invalid" in where
    assert pointer("components", "parameters", "UserId", "example") in where
    assert pointer("components", "headers", "ETag", "example") in where
    assert any(w.startswith(pointer("components", "schemas")) and "/examples/" in w for w in where)


def test_every_operation_has_its_examples(spec: dict[str, Any]) -> None:
    assert coverage_gaps(spec) == []


# --- the checks bite -------------------------------------------------------------------------------------------


def _broken(spec: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(spec)


def test_a_response_example_that_breaks_its_schema_is_caught(spec: dict[str, Any]) -> None:
    broken = _broken(spec)
    tokens = broken["components"]["responses"]["Tokens"]["content"]["application/json"]["examples"]["tokens"]
    tokens["value"]["expires_in"] = "900"  # a string where the schema says integer
    del tokens["value"]["access_token"]  # and a required field missing

    errors = example_errors(broken)

    assert any("Tokens" in e and "'900' is not of type 'integer'" in e for e in errors), errors
    assert any("Tokens" in e and "'access_token' is a required property" in e for e in errors), errors


def test_a_referenced_example_is_checked_where_it_is_used(spec: dict[str, Any]) -> None:
    broken = _broken(spec)
    broken["components"]["examples"]["User"]["value"]["created_at"] = "yesterday"  # not a date-time

    errors = example_errors(broken)

    assert any("'yesterday' is not a 'date-time'" in e for e in errors), errors


def test_parameter_and_schema_examples_are_checked(spec: dict[str, Any]) -> None:
    broken = _broken(spec)
    broken["components"]["parameters"]["UserId"]["example"] = "not-a-uuid"
    broken["components"]["headers"]["ETag"]["example"] = "unquoted"
    broken["components"]["schemas"]["TokenPair"]["properties"]["expires_in"]["examples"] = [-1.5]

    errors = example_errors(broken)

    assert any("parameters/UserId/example" in e and "is not a 'uuid'" in e for e in errors), errors
    assert any("headers/ETag/example" in e and "does not match" in e for e in errors), errors
    assert any("TokenPair/properties/expires_in/examples/0" in e for e in errors), errors


def test_the_json_inside_an_event_is_checked(spec: dict[str, Any]) -> None:
    broken = _broken(spec)
    stream = broken["paths"]["/api/v1/sse/stream"]["get"]["responses"]["200"]["content"]["text/event-stream"]
    stream["examples"]["tick"]["value"]["data"] = '{"time": "not a time"}'

    errors = example_errors(broken)

    assert any("data (JSON)" in e for e in errors), errors


def test_text_formats_are_checked_line_by_line(spec: dict[str, Any]) -> None:
    ndjson = Example("#/x", '{"id": 1}\nnot json\n', "#/s", "application/x-ndjson")
    ragged = Example("#/x", "id,email\n1,a@example.com,extra\n", "#/s", "text/csv")

    assert [e.split(":")[0] for e in text_shape_errors(ndjson)] == ["line 2"]
    assert text_shape_errors(ragged) == ["row 2: 3 columns, the header has 2"]


def test_an_operation_without_a_success_example_is_a_gap(spec: dict[str, Any]) -> None:
    broken = _broken(spec)
    media = broken["paths"]["/health"]["get"]["responses"]["200"]["content"]["application/json"]
    media.pop("examples", None)
    media.pop("example", None)

    gaps = coverage_gaps(broken)

    assert "GET /health (getHealth): the 200 response has no example" in gaps
    assert "GET /health (getHealth): response 200 application/json has no named `examples`" in gaps


def test_an_example_without_a_summary_is_a_gap(spec: dict[str, Any]) -> None:
    broken = _broken(spec)
    body = broken["paths"]["/api/v1/auth/login"]["post"]["requestBody"]["content"]["application/json"]
    body["examples"]["ada"].pop("summary")

    assert "POST /api/v1/auth/login (login): request body application/json example 'ada' has no summary" in (
        coverage_gaps(broken)
    )


# --- Schemathesis replays them ---------------------------------------------------------------------------------


def test_schemathesis_examples_phase_is_on() -> None:
    config = tomllib.loads((SPEC_PATH.parent.parent / "schemathesis.toml").read_text(encoding="utf-8"))
    assert config["phases"]["examples"]["enabled"] is True


@pytest.mark.parametrize(
    ("path", "method", "media_type", "name"),
    [
        ("/api/v1/auth/login", "post", "application/json", "ada"),
        ("/api/v1/auth/register", "post", "application/json", "ada"),
        ("/api/v1/auth/token", "post", "application/x-www-form-urlencoded", "ada"),
    ],
)
def test_schemathesis_examples_phase_sends_the_spec_examples(
    spec: dict[str, Any], path: str, method: str, media_type: str, name: str
) -> None:
    # Public operations only: building a case of a secured one signs in through the hooks' auth provider, which
    # needs a running service (the in-process fuzz test and `make fuzz` run those).
    expected = spec["paths"][path][method]["requestBody"]["content"][media_type]["examples"][name]["value"]
    operation = schemathesis.openapi.from_path(SPEC_PATH)[path][method.upper()]

    bodies = [hypothesis.find(strategy, lambda _: True).body for strategy in operation.get_strategies_from_examples()]

    assert expected in bodies
