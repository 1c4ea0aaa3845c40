"""The TypeScript step of the generator: types and client drift-checked with generated/, and a spec change that
breaks the client's callers fails their compilation."""

from __future__ import annotations

import copy
import json
import shutil
import subprocess  # nosec B404
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.generate import ROOT, main
from scripts.generate_typescript import (
    HEADER,
    TABLE_MARKER,
    generate_typescript,
    problem_statuses,
    render_client,
    render_package,
)
from scripts.spec_reader import SpecError
from scripts.typescript_suite import compile_profile

SPEC = ROOT / "spec" / "openapi.yaml"
GENERATED = ROOT / "generated"


def _spec() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    return document


@pytest.fixture
def scratch() -> Iterator[Path]:
    # Inside the project (git-ignored), so node finds node_modules/ from there as it does from generated/.
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".check-generated-ts-") as folder:
        yield Path(folder)


def test_problem_statuses_are_each_operations_declared_errors() -> None:
    table = problem_statuses(_spec())

    assert table["/api/v1/users/{user_id}"]["delete"] == [401, 403, 404, 409, 412, 413, 422, 429, 431, 500, 503, 504]
    assert 304 not in table["/api/v1/users/{user_id}"]["get"]  # not an error: problemOf answers undefined
    assert "parameters" not in table["/api/v1/users/{user_id}"]  # the path-level parameters are no method


def test_a_response_range_is_refused_rather_than_guessed() -> None:
    spec: dict[str, Any] = {"paths": {"/things": {"get": {"responses": {"200": {}, "4XX": {}}}}}}

    with pytest.raises(SpecError, match=r"GET /things: response '4XX' is not a status code"):
        problem_statuses(spec)


def test_the_client_gets_the_table_in_place_of_the_marker() -> None:
    client = render_client({"paths": {"/things": {"get": {"responses": {"200": {}, "404": {}, "500": {}}}}}})

    assert client.startswith(HEADER)
    assert TABLE_MARKER not in client
    assert 'export const problemStatuses = {\n  "/things": {\n    get: [404, 500],\n  },\n} as const;\n' in client


@pytest.mark.slow
def test_a_spec_change_makes_the_committed_types_stale(scratch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = _spec()
    spec["components"]["schemas"]["UserPatch"]["properties"]["nickname"] = {"type": "string", "maxLength": 40}
    changed = scratch / "spec" / "openapi.yaml"
    changed.parent.mkdir()
    changed.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copy(SPEC.with_name("asyncapi.yaml"), changed.with_name("asyncapi.yaml"))

    assert main(["--check", "--spec", str(changed), "--out", str(GENERATED)]) == 1

    out = capsys.readouterr().out
    assert "generated/typescript/schema.d.ts (from the spec)" in out
    assert "+            nickname?: string;" in out


def _compile_client_tests(root: Path) -> subprocess.CompletedProcess[str]:
    """tsc over the Node ESM profile with ``root``/generated/typescript/, as make test-ts compiles it."""
    return compile_profile("node-esm", root / "profiles", root / "generated" / "typescript")


@pytest.mark.slow
def test_a_breaking_spec_change_fails_the_client_compilation(scratch: Path) -> None:
    # Renaming a response field the client code reads: the journey's `data.access_token` must stop compiling.
    spec = _spec()
    token_pair = copy.deepcopy(spec["components"]["schemas"]["TokenPair"])
    token_pair["properties"]["token"] = token_pair["properties"].pop("access_token")
    token_pair["required"] = ["token" if name == "access_token" else name for name in token_pair["required"]]
    spec["components"]["schemas"]["TokenPair"] = token_pair
    changed = scratch / "openapi.yaml"
    changed.write_text(yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copy(SPEC.with_name("asyncapi.yaml"), changed.with_name("asyncapi.yaml"))
    generate_typescript(changed, scratch / "generated" / "typescript")

    result = _compile_client_tests(scratch)

    assert result.returncode != 0
    errors = [line for line in result.stdout.splitlines() if "error TS" in line]
    assert errors, result.stdout + result.stderr
    assert all("access_token" in line for line in errors), errors
    assert any(line.startswith("tests/typescript/journey.test.ts(") for line in errors), errors


def test_the_package_is_versioned_with_the_spec_and_pins_the_repositorys_dependencies() -> None:
    spec = _spec()
    spec["info"]["version"] = "7.3.1"
    tooling = {"devDependencies": {"openapi-fetch": "0.17.0", "eventsource-parser": "3.1.1", "typescript": "5.9.3"}}

    manifest = json.loads(render_package(spec, tooling))

    assert manifest["version"] == "7.3.1"
    assert manifest["dependencies"] == {"openapi-fetch": "0.17.0", "eventsource-parser": "3.1.1"}
    assert manifest["exports"]["./events"] == {"types": "./dist/events.d.ts", "default": "./dist/events.js"}
    assert manifest["exports"]["."] == {"types": "./dist/client.d.ts", "default": "./dist/client.js"}


def _npm(*arguments: str, cwd: Path) -> str:
    npm = shutil.which("npm")
    assert npm is not None
    command = [npm, *arguments, "--no-audit", "--no-fund", "--loglevel=error"]
    run = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=True)  # nosec B603
    return run.stdout


@pytest.mark.slow
def test_npm_pack_makes_a_package_that_node_and_tsc_take_by_its_name(scratch: Path) -> None:
    packed = json.loads(
        _npm("pack", str(GENERATED / "typescript"), "--json", "--pack-destination", str(scratch), cwd=scratch)
    )
    assert packed[0]["name"] == "@charter/api-client"
    assert packed[0]["version"] == _spec()["info"]["version"]
    files = sorted(entry["path"] for entry in packed[0]["files"])
    assert files == [
        "chat.ts",
        "client.ts",
        *(f"dist/{module}.{kind}" for module in ("chat", "client", "events") for kind in ("d.ts", "js")),
        "dist/messages.d.ts",
        "dist/schema.d.ts",
        "events.ts",
        "messages.d.ts",
        "package.json",
        "schema.d.ts",
    ]

    # An app with the tarball unpacked into its node_modules/, as `npm install <tarball>` leaves it (openapi-fetch
    # comes from this repository's node_modules/, above the scratch folder).
    app = scratch / "app"
    installed = app / "node_modules" / "@charter" / "api-client"
    installed.mkdir(parents=True)
    with tarfile.open(scratch / packed[0]["filename"]) as tarball:
        tarball.extractall(installed.parent, filter="data")
    (installed.parent / "package").rename(installed)
    (app / "package.json").write_text('{"private": true, "type": "module"}\n', encoding="utf-8")
    (app / "app.ts").write_text(
        'import { createCharterClient, problemStatuses } from "@charter/api-client";\n'
        'import { chatPath } from "@charter/api-client/chat";\n'
        'import { sseEventNames, type SseEvent } from "@charter/api-client/events";\n'
        "export function typed(event: SseEvent): string {\n"
        '  return event.event === "user.deleted" ? event.data.data.user_id : "";\n'
        "}\n"
        "console.log(JSON.stringify([chatPath, sseEventNames.length]));\n"
        "export async function misuse(): Promise<void> {\n"
        '  const api = createCharterClient({ baseUrl: "http://127.0.0.1:8000" });\n'
        "  // @ts-expect-error -- the package's types came with it: a path the spec does not have\n"
        '  await api.GET("/api/v1/nowhere", {});\n'
        "}\n"
        'console.log(JSON.stringify(problemStatuses["/api/v1/users/{user_id}"].get));\n',
        encoding="utf-8",
    )
    node = shutil.which("node")
    assert node is not None
    tsc = [node, str(ROOT / "node_modules" / "typescript" / "bin" / "tsc"), "--strict", "--types", "node"]
    tsc += ["--module", "NodeNext", "--moduleResolution", "NodeNext", "--target", "ES2022", "app.ts"]
    compiled = subprocess.run(tsc, cwd=app, capture_output=True, text=True, check=False)  # nosec B603
    assert compiled.returncode == 0, compiled.stdout

    ran = subprocess.run([node, "app.js"], cwd=app, capture_output=True, text=True, check=True)  # nosec B603
    printed = [json.loads(line) for line in ran.stdout.splitlines()]
    assert printed == [["/api/v1/ws/chat", 6], problem_statuses(_spec())["/api/v1/users/{user_id}"]["get"]]


@pytest.mark.slow
def test_a_call_of_a_deprecated_operation_is_marked_deprecated_where_it_is_made(scratch: Path) -> None:
    # tests/scripts/fixtures/deprecated.yaml deprecates GET /legacy-widgets and GET /legacy-gadgets, not GET /widgets;
    # the client's problem type is the spec's Problem schema, which it lacks.
    spec = yaml.safe_load((ROOT / "tests" / "scripts" / "fixtures" / "deprecated.yaml").read_text(encoding="utf-8"))
    spec["components"]["schemas"]["Problem"] = {"type": "object", "properties": {"title": {"type": "string"}}}
    fixture = scratch / "deprecated.yaml"
    fixture.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    generate_typescript(fixture, scratch / "typescript")
    (scratch / "package.json").write_text('{"private": true, "type": "module"}\n', encoding="utf-8")
    (scratch / "tsconfig.json").write_text(
        '{"compilerOptions": {"strict": true, "module": "NodeNext", "types": ["node"], "noEmit": true}}\n',
        encoding="utf-8",
    )
    (scratch / "app.ts").write_text(
        'import { createCharterClient } from "./typescript/client.js";\n'
        'const api = createCharterClient({ baseUrl: "http://127.0.0.1:8000" });\n'
        'export const old = await api.GET("/legacy-widgets", { params: { query: { limit: 2 } } });\n'
        'export const current = await api.GET("/widgets");\n'
        'export const older = await api.GET("/legacy-gadgets");\n',
        encoding="utf-8",
    )
    node = shutil.which("node")
    assert node is not None
    helper = Path(__file__).with_name("typescript_suggestions.mjs")
    command = [node, str(helper), str(ROOT / "node_modules" / "typescript"), str(scratch / "tsconfig.json")]
    run = subprocess.run([*command, str(scratch / "app.ts")], capture_output=True, text=True, check=True)  # nosec B603
    suggestions = json.loads(run.stdout)

    deprecated = {entry["line"]: entry["message"] for entry in suggestions if entry["code"] == 6387}
    assert sorted(deprecated) == [3, 5]  # the calls of the deprecated operations, not GET /widgets on line 4
    assert 'The signature \'(url: "/legacy-widgets"' in deprecated[3]
    # What an editor shows on hover: the signature's @deprecated note.
    client = (scratch / "typescript" / "client.ts").read_text(encoding="utf-8")
    assert (
        "   * @deprecated `GET /legacy-widgets` (listLegacyWidgets) is deprecated since 2026-01-15T12:30:00Z and stops"
        " answering at 2027-01-31. See https://docs.example.com/deprecations/legacy-widgets\n   */\n"
        '  GET(url: "/legacy-widgets",'
    ) in client
