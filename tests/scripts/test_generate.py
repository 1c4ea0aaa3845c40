"""The drift gate: generated/ must be exactly what the spec produces, and the check says where it is not."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from scripts import settings_doc
from scripts.generate import ROOT, generate_all, main

GENERATED = ROOT / "generated"


@pytest.fixture
def generated_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "generated"
    shutil.copytree(GENERATED, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def test_committed_generated_code_matches_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--check"]) == 0
    assert "matches" in capsys.readouterr().out


def test_a_hand_edit_fails_the_check_with_a_diff(generated_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = generated_copy / "api" / "health.py"
    target.write_text(target.read_text(encoding="utf-8").replace("status_code=200", "status_code=202", 1))

    assert main(["--check", "--out", str(generated_copy)]) == 1

    out = capsys.readouterr().out
    assert "generated/api/health.py (committed)" in out
    assert "-        status_code=202," in out
    assert "+        status_code=200," in out


def test_an_extra_or_missing_file_fails_the_check(generated_copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (generated_copy / "api" / "hand_written.py").write_text("x = 1\n")
    (generated_copy / "models.py").unlink()

    assert main(["--check", "--out", str(generated_copy)]) == 1

    out = capsys.readouterr().out
    assert "generated/api/hand_written.py (committed)" in out
    assert "generated/models.py (from the spec)" in out


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        digest.update(path.as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def test_generation_never_touches_impl(tmp_path: Path) -> None:
    before = _digest(ROOT / "impl")
    generate_all(ROOT / "spec" / "openapi.yaml", tmp_path / "generated")
    assert _digest(ROOT / "impl") == before
    assert (tmp_path / "generated" / "api" / "health.py").exists()


def test_readme_settings_table_matches_the_settings_class() -> None:
    readme = settings_doc.README.read_text(encoding="utf-8")
    assert settings_doc.replace_section(readme, settings_doc.render_table()) == readme
    assert "| `DATA_DIR` |" in readme
