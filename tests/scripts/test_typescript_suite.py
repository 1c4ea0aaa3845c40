"""make test-ts refuses to compile against TypeScript that is not what the spec produces now."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.generate import ROOT
from scripts.typescript_suite import compile_profile, profile_names, stale_files

SPEC = ROOT / "spec" / "openapi.yaml"


@pytest.mark.slow
def test_stale_or_missing_generated_typescript_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "typescript"
    shutil.copytree(ROOT / "generated" / "typescript", copy)
    assert stale_files(SPEC, copy) == []

    with (copy / "client.ts").open("a", encoding="utf-8") as client:
        client.write("export const handEdited = true;\n")
    (copy / "schema.d.ts").unlink()

    assert stale_files(SPEC, copy) == ["client.ts", "schema.d.ts"]


@pytest.fixture
def scratch() -> Iterator[Path]:
    # Inside the project (git-ignored), so tsc finds node_modules/ by walking up, as from a frontend's own folder.
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".check-generated-ts-") as folder:
        yield Path(folder)


def test_the_client_is_compiled_in_each_frontend_set_up() -> None:
    assert profile_names() == ["commonjs", "node-esm", "vite"]


@pytest.mark.slow
@pytest.mark.parametrize("profile", ["commonjs", "node-esm", "vite"])
def test_the_generated_client_compiles_unchanged(profile: str, scratch: Path) -> None:
    # Node ESM (NodeNext) refuses an extensionless relative import (TS2834), Vite's erasableSyntaxOnly a parameter
    # property (TS1294): the client and the misuse checks must type-check in each set-up, as copied.
    result = compile_profile(profile, scratch)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (scratch / profile / "generated" / "typescript" / "client.ts").read_text(encoding="utf-8") == (
        ROOT / "generated" / "typescript" / "client.ts"
    ).read_text(encoding="utf-8")
