"""The service's one Settings class, read from the environment, with per-environment defaults.

Nothing reads configuration at import time: the app factory takes a Settings, and ``get_settings()`` builds the
process-wide one on first use. Tests build their own ``Settings(...)`` and pass it to ``create_app``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "staging", "prod"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A well-known value so dev and test work out of the box; staging and prod refuse to start with it.
# Not a secret in use: Settings refuses this value outside dev and test.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105  # nosec B105
MIN_SECRET_LENGTH = 32

# Defaults that differ by APP_ENV; an explicit environment variable always wins over these.
ENVIRONMENT_DEFAULTS: dict[Environment, dict[str, Any]] = {
    "dev": {"docs_enabled": True, "log_level": "debug"},
    "test": {"docs_enabled": True, "log_level": "warning"},
    "staging": {"docs_enabled": True, "log_level": "info"},
    "prod": {"docs_enabled": False, "log_level": "info"},
}


class Settings(BaseSettings):
    """Every run-time knob of the service. Each field is read from the environment variable of its upper-case name."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    app_env: Environment = Field(
        default="dev", description="Which environment this is: dev, test, staging or prod. Picks the defaults below."
    )
    host: str = Field(default="127.0.0.1", description="Address `make run` and `python -m impl` bind to.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `make run` and `python -m impl` listen on.")
    workers: int = Field(default=1, ge=1, le=64, description="Number of uvicorn worker processes.")
    data_dir: Path = Field(
        default=Path("var"), description="Where SQLite files and uploads live; created on start-up if missing."
    )
    spec_path: Path = Field(
        default=PROJECT_ROOT / "spec" / "openapi.yaml",
        description="The OpenAPI document the service serves and checks its routes against.",
    )
    max_body_bytes: int = Field(
        default=1_048_576, ge=1, description="Largest request body accepted, in bytes; larger ones get 413."
    )
    readiness_timeout_seconds: float = Field(
        default=1.0, gt=0, le=30, description="Time each readiness check may take before it counts as down."
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET_KEY),
        description=f"Signing secret; staging and prod need a random value of at least {MIN_SECRET_LENGTH} characters.",
    )
    docs_enabled: bool = Field(
        default=True, description="Serve /docs, /redoc, /openapi.json and /openapi.yaml (default off in prod)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level (default debug in dev, warning in test)."
    )

    @model_validator(mode="before")
    @classmethod
    def _apply_environment_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        environment = str(data.get("app_env", "dev")).lower()
        for key, value in ENVIRONMENT_DEFAULTS.get(environment, {}).items():  # type: ignore[call-overload]
            data.setdefault(key, value)
        return data

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_dev(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.app_env in ("staging", "prod") and (secret == DEV_SECRET_KEY or len(secret) < MIN_SECRET_LENGTH):
            raise ValueError(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} characters "
                f"when APP_ENV={self.app_env}; the development default is refused"
            )
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read from the environment once. ``get_settings.cache_clear()`` re-reads it."""
    return Settings()
