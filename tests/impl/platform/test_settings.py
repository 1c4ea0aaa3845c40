"""Settings: environment variables win, APP_ENV picks the defaults, and prod refuses the development secret."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from impl.platform.settings import DEV_SECRET_KEY, Settings, get_settings

pytestmark = pytest.mark.unit

STRONG_SECRET = "s" * 48


def test_dev_is_the_default_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)
    settings = Settings()
    assert settings.app_env == "dev"
    assert settings.host == "127.0.0.1"
    assert settings.port == 8000
    assert settings.data_dir == Path("var")
    assert settings.docs_enabled is True
    assert settings.log_level == "debug"


def test_environment_variables_override_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PORT", "9123")
    monkeypatch.setenv("HOST", "0.0.0.0")  # noqa: S104 - a value under test, nothing binds to it
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    monkeypatch.setenv("WORKERS", "3")
    settings = Settings()
    assert (settings.port, settings.host, settings.data_dir, settings.workers) == (9123, "0.0.0.0", tmp_path, 3)  # noqa: S104


def test_each_environment_has_its_own_defaults(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("JWT_KEYS_DIR", str(tmp_path))
    prod = Settings()
    assert prod.docs_enabled is False
    assert prod.log_level == "info"
    assert prod.jwt_algorithm == "RS256"
    monkeypatch.setenv("APP_ENV", "test")
    assert Settings().log_level == "warning"


def test_an_explicit_variable_beats_the_environment_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("JWT_KEYS_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("DOCS_ENABLED", "true")
    assert Settings().docs_enabled is True


@pytest.mark.parametrize("environment", ["staging", "prod"])
def test_staging_and_prod_refuse_the_development_secret(monkeypatch: pytest.MonkeyPatch, environment: str) -> None:
    monkeypatch.setenv("APP_ENV", environment)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings()
    monkeypatch.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings()
    monkeypatch.setenv("SECRET_KEY", "short")
    with pytest.raises(ValidationError, match="SECRET_KEY must be set"):
        Settings()


def test_prod_starts_with_a_strong_secret_which_never_shows_in_its_repr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("JWT_KEYS_DIR", str(tmp_path))
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    settings = Settings()
    assert settings.secret_key.get_secret_value() == STRONG_SECRET
    assert STRONG_SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value"), [("PORT", "0"), ("PORT", "70000"), ("APP_ENV", "production"), ("WORKERS", "0")]
)
def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError):
        Settings()


def test_get_settings_is_cached_until_cleared(monkeypatch: pytest.MonkeyPatch) -> None:
    get_settings.cache_clear()
    monkeypatch.setenv("PORT", "8111")
    try:
        first = get_settings()
        monkeypatch.setenv("PORT", "8222")
        assert get_settings() is first
        get_settings.cache_clear()
        assert get_settings().port == 8222
    finally:
        get_settings.cache_clear()


def test_prod_signs_with_rs256_and_refuses_to_start_without_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("APP_ENV", "prod")
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.delenv("JWT_KEYS_DIR", raising=False)
    with pytest.raises(ValidationError, match="JWT_ALGORITHM=RS256 needs JWT_KEYS_DIR"):
        Settings()
