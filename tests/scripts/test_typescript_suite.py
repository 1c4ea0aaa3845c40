"""make test-ts refuses to compile against TypeScript that is not what the spec produces now."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from scripts.generate import ROOT
from scripts.typescript_suite import stale_files

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
