"""The drift gate: generated/ must be exactly what the spec produces, and the check says where it is not."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from impl.platform.settings import Settings
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


def test_settings_reference_matches_the_settings_class() -> None:
    reference = settings_doc.REFERENCE.read_text(encoding="utf-8")
    assert settings_doc.replace_section(reference, settings_doc.render_table()) == reference
    assert "| `DATA_DIR` |" in reference


def test_settings_reference_lists_every_field_once_under_a_heading() -> None:
    table = settings_doc.render_table()
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| `")]
    assert sorted(rows) == sorted(f"`{name.upper()}`" for name in Settings.model_fields)
    assert table.startswith("### Service")


def test_a_default_that_differs_by_environment_names_each_value_once() -> None:
    table = settings_doc.render_table()
    row = next(line for line in table.splitlines() if line.startswith("| `DB_MIGRATIONS` |"))
    assert "`apply`: dev, test, mock<br>`check`: staging, prod" in row
    # A default factory is called, not shown as pydantic's placeholder.
    assert "PydanticUndefined" not in table
    assert "| `TRUSTED_PROXIES` | `[]` |" in table


def test_a_stale_settings_reference_fails_the_check(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "settings.md"
    stale.write_text(f"# Settings\n\n{settings_doc.START}\n| old |\n{settings_doc.END}\n", encoding="utf-8")
    monkeypatch.setattr(settings_doc, "REFERENCE", stale)

    assert settings_doc.main(["--check"]) == 1
    assert "settings.md differs" in capsys.readouterr().out
    assert settings_doc.main([]) == 0
    assert "| `DATA_DIR` |" in stale.read_text(encoding="utf-8")
    assert settings_doc.main(["--check"]) == 0
