"""The breaking-change gate: a corpus of spec pairs it must judge right, the version rule, and the changelog."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts import api_changelog
from scripts.check_breaking import CHANGELOG, SPEC, breaking_allowed, load, main, newest_released, parse_version
from scripts.spec_diff import diff
from scripts.spec_removals import premature_removals

CORPUS = sorted((Path(__file__).parent / "fixtures" / "breaking").glob("*.yaml"))


def _document(part: dict[str, Any], version: str = "1.0.0") -> dict[str, Any]:
    return {"openapi": "3.1.1", "info": {"title": "Corpus", "version": version}, **part}


def test_the_corpus_has_both_kinds() -> None:
    kinds = [yaml.safe_load(path.read_text(encoding="utf-8"))["breaking"] for path in CORPUS]
    assert kinds.count(True) >= 10
    assert kinds.count(False) >= 8


@pytest.mark.parametrize("case", CORPUS, ids=lambda path: path.stem)
def test_each_pair_is_judged_right(case: Path) -> None:
    pair = yaml.safe_load(case.read_text(encoding="utf-8"))

    changes = diff(_document(pair["old"]), _document(pair["new"]))

    found = [str(change) for change in changes]
    assert any(change.breaking for change in changes) is pair["breaking"], found
    if pair["expect"] is None:
        assert changes == []
    else:
        assert pair["expect"] in found
        (expected,) = [change for change in changes if str(change) == pair["expect"]]
        assert expected.breaking is pair["breaking"]


def test_the_same_spec_has_no_changes() -> None:
    spec = load(SPEC)
    assert diff(spec, load(SPEC)) == []


def test_a_change_to_a_shared_schema_is_reported_under_every_operation_that_reaches_it() -> None:
    spec = load(SPEC)
    changed = load(SPEC)
    changed["components"]["schemas"]["Role"]["enum"].remove("moderator")

    found = [str(change) for change in diff(spec, changed)]

    removed = "enum values removed: 'moderator'"
    assert f"POST /api/v1/users request body application/json #/role: {removed}" in found
    assert f"PATCH /api/v1/users/{{user_id}} request body application/merge-patch+json #/role: {removed}" in found
    assert f"GET /api/v1/users query parameter role: {removed}" in found
    assert f"GET /api/v1/users/{{user_id}} response 200 application/json #/role: {removed}" in found
    assert f"GET /api/v1/users response 200 application/json #/items[]/role: {removed}" in found
    assert not [change for change in found if change.startswith("Role")]


def test_a_shared_schema_reached_from_two_operations_is_listed_under_both() -> None:
    item = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 320}}}
    reply = {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}}}
    paths = {
        "/items": {"get": {"operationId": "listItems", "responses": {"200": reply}}},
        "/items/{id}": {
            "get": {
                "operationId": "getItem",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": reply},
            }
        },
    }
    old = _document({"paths": paths, "components": {"schemas": {"Item": item}}})
    new = _document({"paths": paths, "components": {"schemas": {"Item": {**item, "properties": {}}}}})

    found = [str(change) for change in diff(old, new)]

    assert found == [
        "GET /items response 200 application/json #/name: property removed",
        "GET /items/{id} response 200 application/json #/name: property removed",
    ]


@pytest.mark.parametrize(
    ("released", "current", "allowed"),
    [
        ("0.1.0", "0.1.1", False),
        ("0.1.3", "0.2.0", True),
        ("0.1.0", "1.0.0", True),
        ("1.2.0", "1.3.0", False),
        ("1.2.0", "2.0.0", True),
        ("1.2.0", "1.2.0", False),
    ],
)
def test_the_version_rule(released: str, current: str, allowed: bool) -> None:
    assert breaking_allowed(parse_version(released), parse_version(current)) is allowed


def test_the_newest_release_is_found_by_version_not_by_name(tmp_path: Path) -> None:
    for version in ("0.9.0", "0.10.0", "0.2.1"):
        (tmp_path / f"openapi-{version}.yaml").write_text("{}", encoding="utf-8")

    assert newest_released(tmp_path) == ("0.10.0", tmp_path / "openapi-0.10.0.yaml")


# --- the command, end to end, on a copy of the spec ------------------------------------------------------------


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copy(SPEC, tmp_path / "openapi.yaml")
    (tmp_path / "released").mkdir()
    shutil.copy(CHANGELOG, tmp_path / "CHANGELOG.md")
    return tmp_path


def _run(workspace: Path, *args: str) -> int:
    paths = ["--spec", str(workspace / "openapi.yaml"), "--released-dir", str(workspace / "released")]
    return main([*args, *paths, "--changelog-file", str(workspace / "CHANGELOG.md")])


def _edit(workspace: Path, change: Any) -> None:
    spec = load(workspace / "openapi.yaml")
    change(spec)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    (workspace / "openapi.yaml").write_text(yaml.dump(spec, Dumper=dumper, sort_keys=False), encoding="utf-8")


def _released(workspace: Path, version: str) -> Path:
    """Release the workspace's spec under `version`, starting from a changelog that was never released."""
    _edit(workspace, lambda spec: spec["info"].update(version=version))
    for old in (workspace / "released").glob("*.yaml"):
        old.unlink()
    first = "Nothing released yet: `make release` releases the contract as it is.\n"
    changelog = workspace / "CHANGELOG.md"
    changelog.write_text(api_changelog.with_unreleased(changelog.read_text(encoding="utf-8"), first))
    assert _run(workspace, "--release") == 0
    return workspace


def test_the_committed_spec_passes_the_gate() -> None:
    assert main([]) == 0


def test_release_copies_the_spec_and_dates_the_changelog(workspace: Path) -> None:
    _released(workspace, "0.3.0")

    assert (workspace / "released" / "openapi-0.3.0.yaml").read_bytes() == (workspace / "openapi.yaml").read_bytes()
    text = (workspace / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## Unreleased\n\nNo contract changes since 0.3.0.\n\n## 0.3.0 (" in text
    assert "The first released contract: " in text
    assert _run(workspace, "--release") == 1  # the same version twice


def _require_tenant(spec: dict[str, Any]) -> None:
    parameter = {"name": "tenant", "in": "query", "required": True, "schema": {"type": "string"}}
    spec["paths"]["/health"]["get"].setdefault("parameters", []).append(parameter)


def test_a_breaking_change_fails_without_a_major_bump_and_passes_with_one(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _released(workspace, "0.3.0")
    _edit(workspace, _require_tenant)
    capsys.readouterr()

    assert _run(workspace) == 1
    assert "BREAKING  GET /health query parameter tenant: added (required)" in capsys.readouterr().out

    _edit(workspace, lambda spec: spec["info"].update(version="0.3.1"))
    assert _run(workspace) == 1  # a patch bump is not enough

    _edit(workspace, lambda spec: spec["info"].update(version="0.4.0"))
    assert _run(workspace) == 1  # allowed now, but the changelog does not list it yet
    assert "run `make changelog`" in capsys.readouterr().out

    assert _run(workspace, "--changelog") == 0
    text = (workspace / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "### Breaking\n\n- `GET /health`\n  - query parameter `tenant`: added (required)\n" in text
    assert _run(workspace) == 0


# --- deprecate before remove -------------------------------------------------------------------------------------

DEMO = "/api/v1/demo/async"


def _removed_after_release(workspace: Path, *, released: str, now: str, sunset: str | None) -> None:
    """Release the spec (its demo operation deprecated until `sunset`, if given), then remove it in version `now`."""
    if sunset is not None:
        deprecation = {"deprecated": True, "x-deprecated-at": "2020-01-01", "x-sunset": sunset}
        _edit(workspace, lambda spec: spec["paths"][DEMO]["get"].update(deprecation))
    _released(workspace, released)

    def remove(spec: dict[str, Any]) -> None:
        spec["paths"].pop(DEMO)
        spec["info"]["version"] = now

    _edit(workspace, remove)
    assert _run(workspace, "--changelog") == 0


def test_an_operation_never_deprecated_cannot_be_removed_even_with_a_major_bump(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _removed_after_release(workspace, released="0.3.0", now="1.0.0", sunset=None)
    capsys.readouterr()

    assert _run(workspace) == 1
    out = capsys.readouterr().out
    assert f"GET {DEMO}: removed, but the released 0.3.0 never deprecated it" in out
    assert "deprecate it first" in out


def test_an_operation_cannot_be_removed_before_its_sunset(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _removed_after_release(workspace, released="0.3.0", now="1.0.0", sunset="2999-01-01")
    capsys.readouterr()

    assert _run(workspace) == 1
    assert f"GET {DEMO}: removed before its sunset 2999-01-01" in capsys.readouterr().out


def test_an_operation_past_its_sunset_may_be_removed_with_a_major_bump(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _removed_after_release(workspace, released="1.2.0", now="1.3.0", sunset="2020-06-01")
    capsys.readouterr()

    assert _run(workspace) == 1  # the sunset has passed, but a removal still breaks clients: a major bump
    assert "need a major version bump" in capsys.readouterr().out

    _edit(workspace, lambda spec: spec["info"].update(version="2.0.0"))
    assert _run(workspace) == 0
    text = (workspace / "CHANGELOG.md").read_text(encoding="utf-8")
    assert f"- `GET {DEMO}`\n  - operation removed (deprecated since 2020-01-01, sunset 2020-06-01)\n" in text


@pytest.mark.parametrize(
    ("deprecation", "refused"),
    [
        ({}, "removed, but the released 1.0.0 never deprecated it"),
        ({"deprecated": True}, "removed, but the released 1.0.0 never deprecated it"),
        (
            {"deprecated": True, "x-deprecated-at": "2030-01-01", "x-sunset": "2030-06-01T12:00:01Z"},
            "before its sunset",
        ),
        ({"deprecated": True, "x-deprecated-at": "2030-01-01", "x-sunset": "2030-06-01T12:00:00Z"}, None),
        ({"deprecated": True, "x-deprecated-at": "2030-01-01", "x-sunset": "soon"}, "malformed: `x-sunset` must be"),
    ],
    ids=["never", "no-dates", "a-second-early", "at-the-sunset", "malformed"],
)
def test_a_removal_waits_for_the_released_sunset(deprecation: dict[str, Any], refused: str | None) -> None:
    operation = {"operationId": "listItems", "responses": {"200": {"description": "ok"}}, **deprecation}
    released = _document({"paths": {"/items": {"get": operation}}})
    removed = _document({"paths": {}}, version="2.0.0")

    found = premature_removals(released, removed, now=datetime(2030, 6, 1, 12, tzinfo=UTC))

    if refused is None:
        assert found == []
    else:
        (line,) = found
        assert line.startswith("GET /items: ")
        assert refused in line


def test_the_changelog_words_each_change_under_its_operation(workspace: Path) -> None:
    _released(workspace, "1.0.0")

    def change(spec: dict[str, Any]) -> None:
        spec["components"]["parameters"]["Limit"]["schema"]["default"] = 5
        spec["components"]["schemas"]["Role"]["enum"].remove("moderator")
        scheme = spec["components"]["securitySchemes"]["oauth2Password"]
        scheme["flows"]["password"]["tokenUrl"] = "/api/v2/auth/token"

    _edit(workspace, change)
    assert _run(workspace, "--changelog") == 0

    text = (workspace / "CHANGELOG.md").read_text(encoding="utf-8")
    breaking = text[text.index("### Breaking") : text.index("### Compatible")]
    compatible = text[text.index("### Compatible") : text.index("## 1.0.0")]
    assert _entries(breaking, "GET /api/v1/users") == [
        "security scheme `oauth2Password`: flow password tokenUrl '/api/v1/auth/token' -> '/api/v2/auth/token'",
        "query parameter `limit`: default 20 -> 5 (clients that leave it out get other results)",
        "query parameter `role`: enum values removed: 'moderator'",
    ]
    assert _entries(compatible, "GET /api/v1/users") == [
        "response 200 (application/json) field `items[].role`: enum values removed: 'moderator'"
    ]
    assert "request body (application/json) field `role`: enum values removed: 'moderator'" in _entries(
        breaking, "POST /api/v1/users"
    )


def _entries(section: str, operation: str) -> list[str]:
    """The items listed under `operation` in a changelog section."""
    lines = section[section.index(f"- `{operation}`\n") :].splitlines()[1:]
    end = next(index for index, line in enumerate(lines) if not line.startswith("  - "))
    return [line.removeprefix("  - ") for line in lines[:end]]


def test_a_compatible_change_passes_once_the_changelog_lists_it(workspace: Path) -> None:
    _released(workspace, "1.0.0")

    def add_optional_parameter(spec: dict[str, Any]) -> None:
        parameter = {"name": "verbose", "in": "query", "schema": {"type": "boolean"}}
        spec["paths"]["/health"]["get"].setdefault("parameters", []).append(parameter)

    _edit(workspace, add_optional_parameter)

    assert _run(workspace) == 1  # the changelog is stale
    assert _run(workspace, "--changelog") == 0
    assert _run(workspace) == 0
    text = (workspace / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "### Compatible\n\n- `GET /health`\n  - query parameter `verbose`: added\n" in text


def test_a_version_older_than_the_release_fails(workspace: Path) -> None:
    _released(workspace, "0.3.0")
    _edit(workspace, lambda spec: spec["info"].update(version="0.2.9"))

    assert _run(workspace) == 1


def test_a_version_that_is_not_semver_is_refused(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit(workspace, lambda spec: spec["info"].update(version="v1"))

    assert _run(workspace) == 2
    assert "is not a plain semantic version" in capsys.readouterr().err
