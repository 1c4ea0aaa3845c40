"""`scripts/create_admin.py`: the first admin by hand, with the service's own configuration and password rules."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.platform.settings import get_settings
from scripts.create_admin import main
from tests.conftest import bearer, sign_in, test_settings

EMAIL = "root@example.com"
PASSWORD = "amber lighthouse keeps the harbour awake"  # nosec B105 - a test fixture


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The service's configuration, as the script reads it: from the environment, pointing at a throw-away dir."""
    for name in ("DATABASE_URL", "REDIS_URL", "ADMIN_EMAIL", "JWT_ALGORITHM", "JWT_KEYS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("APP_ENV", "test")
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("ADMIN_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()  # the next test must not see this environment's settings


def role_of(data_dir: Path, email: str, password: str) -> str:
    settings = test_settings(data_dir, admin_email=None, admin_password=None)
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/auth/me", headers=bearer(sign_in(client, email, password)))
    role: str = response.json()["role"]
    return role


def test_the_first_run_creates_an_admin_who_can_sign_in(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--email", EMAIL]) == 0
    assert capsys.readouterr().out.strip() == f"create_admin: created {EMAIL}"
    assert role_of(data_dir, EMAIL, PASSWORD) == "admin"


def test_a_second_run_changes_nothing(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert main(["--email", EMAIL]) == 0
    capsys.readouterr()
    monkeypatch.setenv("ADMIN_PASSWORD", "plum orchard whispers beneath quiet stars")

    assert main(["--email", "other-root@example.com"]) == 0

    assert "an admin already exists" in capsys.readouterr().out
    assert role_of(data_dir, EMAIL, PASSWORD) == "admin"  # the first admin's password is unchanged


def test_a_password_breaking_the_rules_is_refused(
    data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_PASSWORD", "short")
    assert main(["--email", EMAIL]) == 1
    captured = capsys.readouterr()
    assert "password rules" in captured.err
    assert "short" not in captured.err.replace("too short", "")  # the password itself is never printed
    assert captured.out == ""
