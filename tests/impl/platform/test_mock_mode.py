"""APP_ENV=mock's settings: dev-like defaults, a fresh scratch data directory, and DATABASE_URL, REDIS_URL and
DATA_DIR ignored (said once at start-up); the scratch directory, and only it, is removed at shutdown."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from impl.platform.mock_mode import announce_mock_mode, is_mock_scratch_dir, remove_mock_data
from impl.platform.settings import DEV_SECRET_KEY, MOCK_DATA_DIR_PREFIX, Settings

pytestmark = pytest.mark.unit

BOGUS_DATABASE = "postgresql+asyncpg://nobody:secret@bogus.invalid:5432/nothing"
BOGUS_REDIS = "redis://bogus.invalid:6379/0"
BOGUS_URLS: dict[str, Any] = {"database_url": SecretStr(BOGUS_DATABASE), "redis_url": SecretStr(BOGUS_REDIS)}


def test_mock_has_dev_like_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "mock")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    settings = Settings()

    assert settings.app_env == "mock"
    assert settings.secret_key.get_secret_value() == DEV_SECRET_KEY  # accepted, as in dev
    assert (settings.docs_enabled, settings.metrics_public, settings.jwt_algorithm) == (True, True, "HS256")
    assert (settings.db_migrations, settings.log_level) == ("apply", "info")  # info: the demo accounts are logged
    # OWASP's Argon2id floor (the least Settings accepts): quick seeding and sign-ins.
    assert (settings.password_hash_memory_kib, settings.password_hash_iterations) == (19_456, 2)


def test_mock_ignores_database_redis_and_data_dir_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("APP_ENV", "mock")
    monkeypatch.setenv("DATABASE_URL", BOGUS_DATABASE)
    monkeypatch.setenv("REDIS_URL", BOGUS_REDIS)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    settings = Settings()

    assert settings.database_url is None
    assert settings.redis_url is None
    assert settings.ignored_in_mock == ("database_url", "redis_url", "data_dir")
    assert settings.data_dir != tmp_path
    assert is_mock_scratch_dir(settings.data_dir)
    assert settings.effective_database_url() == f"sqlite+aiosqlite:///{settings.data_dir / 'charter.db'}"
    assert not settings.data_dir.exists()  # named only; the app creates it when it starts


def test_every_mock_settings_gets_its_own_scratch_directory() -> None:
    first, second = Settings(app_env="mock"), Settings(app_env="mock")

    assert first.data_dir != second.data_dir
    assert first.data_dir.parent == second.data_dir.parent == Path(tempfile.gettempdir())
    assert first.data_dir.name.startswith(MOCK_DATA_DIR_PREFIX)
    assert first.ignored_in_mock == ()


def test_other_environments_keep_their_database_and_redis(tmp_path: Path) -> None:
    settings = Settings(app_env="dev", data_dir=tmp_path, **BOGUS_URLS)

    assert settings.database_url is not None
    assert settings.database_url.get_secret_value() == BOGUS_DATABASE
    assert settings.redis_url is not None
    assert (settings.data_dir, settings.ignored_in_mock) == (tmp_path, ())


def test_mock_refuses_several_workers() -> None:
    with pytest.raises(ValidationError, match="APP_ENV=mock keeps its data in one process; use WORKERS=1"):
        Settings(app_env="mock", workers=2)


def test_the_start_up_says_what_the_mock_ignored(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(app_env="mock", **BOGUS_URLS)
    with caplog.at_level(logging.INFO, logger="charter.mock"):
        announce_mock_mode(settings)
        announce_mock_mode(Settings(app_env="dev"))  # says nothing

    messages = [record.getMessage() for record in caplog.records if record.name == "charter.mock"]
    assert messages == [
        f"APP_ENV=mock: scratch data in {settings.data_dir}, removed at shutdown; no external services",
        "APP_ENV=mock: auth rate limit 60/60 (requests/seconds, RATE_LIMIT_AUTH), relaxed from the spec's",
        "APP_ENV=mock ignores DATABASE_URL, REDIS_URL: the mock never uses another database, Redis or data directory",
    ]
    assert "bogus.invalid" not in caplog.text  # the names only, never the URLs (they may hold passwords)


def test_only_the_mocks_own_scratch_directory_is_removed(tmp_path: Path) -> None:
    settings = Settings(app_env="mock")
    settings.data_dir.mkdir()
    (settings.data_dir / "charter.db").write_bytes(b"scratch")
    asyncio.run(remove_mock_data(settings))
    assert not settings.data_dir.exists()

    # A configured directory is never removed, even if a copy of the settings claimed to be the mock.
    (tmp_path / "keep.db").write_bytes(b"data")
    asyncio.run(remove_mock_data(settings.model_copy(update={"data_dir": tmp_path})))
    asyncio.run(remove_mock_data(Settings(app_env="dev", data_dir=tmp_path)))
    assert (tmp_path / "keep.db").read_bytes() == b"data"
