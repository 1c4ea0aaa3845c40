"""The service's one Settings class, read from the environment, with per-environment defaults.

Nothing reads configuration at import time: the app factory takes a Settings, and ``get_settings()`` builds the
process-wide one on first use. Tests build their own ``Settings(...)`` and pass it to ``create_app``.
"""

from __future__ import annotations

import secrets
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, ValidatorFunctionWrapHandler, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["dev", "test", "staging", "prod", "mock"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# A well-known value so dev and test work out of the box; staging and prod refuse to start with it.
# Not a secret in use: Settings refuses this value outside dev and test.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105  # nosec B105
MIN_SECRET_LENGTH = 32

# Defaults that differ by APP_ENV; an explicit environment variable always wins over these.
ENVIRONMENT_DEFAULTS: dict[Environment, dict[str, Any]] = {
    "dev": {
        "docs_enabled": True,
        "log_level": "debug",
        "db_migrations": "apply",
        "jwt_algorithm": "HS256",
        "log_format": "console",
        "metrics_public": True,
    },
    "test": {
        "docs_enabled": True,
        "log_level": "warning",
        "db_migrations": "apply",
        "jwt_algorithm": "HS256",
        "log_format": "json",
        "metrics_public": True,
    },
    "staging": {
        "docs_enabled": True,
        "log_level": "info",
        "db_migrations": "check",
        "jwt_algorithm": "RS256",
        "log_format": "json",
        "metrics_public": False,
    },
    "prod": {
        "docs_enabled": False,
        "log_level": "info",
        "db_migrations": "check",
        "jwt_algorithm": "RS256",
        "log_format": "json",
        "metrics_public": False,
    },
    # The service as a stateful mock for frontend work: like dev, but its start-up lines (the demo accounts) show,
    # and passwords are hashed at OWASP's Argon2id floor, so seeding and every sign-in stay quick.
    "mock": {
        "docs_enabled": True,
        "log_level": "info",
        "db_migrations": "apply",
        "jwt_algorithm": "HS256",
        "log_format": "console",
        "metrics_public": True,
        "password_hash_memory_kib": 19_456,  # nosec B105 - an Argon2id cost, not a password
        "password_hash_iterations": 2,  # nosec B105 - an Argon2id cost, not a password
        # The spec's 5 per 300 s would lock a frontend out on its second journey run; still a limit (and its
        # headers and 429 can still be seen), just one a person at a keyboard does not reach.
        "rate_limit_auth": "60/60",
    },
}
# What APP_ENV=mock never uses, even when set: it talks to no external service and keeps nothing after it stops.
MOCK_IGNORES = ("database_url", "redis_url", "data_dir")
MOCK_DATA_DIR_PREFIX = "charter-mock-"


class Settings(BaseSettings):
    """Every run-time knob of the service. Each field is read from the environment variable of its upper-case name."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", case_sensitive=False)

    app_env: Environment = Field(
        default="dev",
        description="Which environment this is: dev, test, staging, prod, or mock (the service as a stateful mock: "
        "a scratch SQLite database and data directory, removed at shutdown, in-process stores, seeded demo "
        "accounts; DATABASE_URL, REDIS_URL and DATA_DIR are ignored). Picks the defaults below.",
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
    max_header_bytes: int = Field(
        default=32_768,
        ge=1024,
        description="Largest request head (request line and headers) accepted, in bytes; larger ones get 431.",
    )
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300, description="Time a client has to send a request's headers before it is cut off."
    )
    readiness_timeout_seconds: float = Field(
        default=1.0, gt=0, le=30, description="Time each readiness check may take before it counts as down."
    )
    secret_key: SecretStr = Field(
        default=SecretStr(DEV_SECRET_KEY),
        description=f"Signing secret; staging and prod need a random value of at least {MIN_SECRET_LENGTH} characters.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL of the database, e.g. `postgresql+asyncpg://user@host/db`; "
        "unset means a SQLite file `charter.db` in `DATA_DIR`.",
    )
    db_pool_size: int = Field(default=10, ge=1, le=200, description="Connections kept open per worker (PostgreSQL).")
    db_max_overflow: int = Field(
        default=10, ge=0, le=200, description="Extra connections a worker may open under load (PostgreSQL)."
    )
    db_pool_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Longest wait for a pooled connection before the request fails with 503."
    )
    db_connect_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="Longest wait for PostgreSQL to accept a new connection (then 503)."
    )
    db_statement_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        le=600,
        description="PostgreSQL's `statement_timeout`: a statement running longer is cancelled by the server and the "
        "request answered 504. Keep it below REQUEST_TIMEOUT_SECONDS.",
    )
    db_breaker_failure_threshold: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Consecutive failed PostgreSQL connection attempts after which the database circuit breaker "
        "opens: requests then get 503 at once instead of waiting for a connect timeout each.",
    )
    db_breaker_recovery_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="How long the database circuit breaker stays open before a request (or /readyz) tries again.",
    )
    db_migrations: Literal["apply", "check"] = Field(
        default="apply",
        description="At start-up, `apply` pending Alembic migrations, or only `check` that none is pending "
        "(and refuse to start otherwise). Default apply in dev/test, check in staging/prod.",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="Redis URL (`redis://host:6379/0`) for state shared across workers: cache, and later rate "
        "limits, token blacklist and events. Unset means in-process.",
    )
    redis_breaker_failure_threshold: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Consecutive Redis connection failures or timeouts after which the Redis circuit breaker opens.",
    )
    redis_breaker_recovery_seconds: float = Field(
        default=2.0,
        gt=0,
        le=300,
        description="How long the Redis circuit breaker stays open before Redis is tried again.",
    )
    cache_ttl_seconds: float = Field(
        default=30.0, gt=0, le=86_400, description="How long a cached read may be served before it is reloaded."
    )
    docs_enabled: bool = Field(
        default=True, description="Serve /docs, /redoc, /openapi.json and /openapi.yaml (default off in prod)."
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Log level (default debug in dev, warning in test)."
    )
    jwt_algorithm: Literal["HS256", "RS256"] = Field(
        default="HS256",
        description="Token signing: HS256 with SECRET_KEY (dev, test) or RS256 with the keys in JWT_KEYS_DIR "
        "(default in staging and prod).",
    )
    jwt_keys_dir: Path | None = Field(
        default=None,
        description="Directory of RS256 private keys `<kid>.pem` (`make jwt-keys` writes one); the last kid in "
        "name order signs, all verify. Never commit it.",
    )
    jwt_issuer: str = Field(default="charter", min_length=1, description="The `iss` of issued tokens, checked on use.")
    jwt_audience: str = Field(
        default="charter-api", min_length=1, description="The `aud` of issued tokens, checked on use."
    )
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=3600, description="Access token lifetime.")
    refresh_token_ttl_seconds: int = Field(
        default=604_800, ge=3600, le=2_592_000, description="Refresh token lifetime (one login session's idle limit)."
    )
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=30, description="Clock skew tolerated on `exp` and `nbf`.")
    admin_email: str | None = Field(
        default=None, description="With ADMIN_PASSWORD: the first admin, created at start-up when no admin exists."
    )
    admin_password: SecretStr | None = Field(
        default=None, description="The first admin's password (NIST rules apply); there is no default."
    )
    password_hash_memory_kib: int = Field(
        default=65_536,
        ge=19_456,
        le=1_048_576,
        description="Argon2id memory per hash, KiB (RFC 9106 low-memory profile; OWASP's floor 19456 is the minimum).",
    )
    password_hash_iterations: int = Field(
        default=3, ge=2, le=16, description="Argon2id passes (time cost); at least OWASP's 2."
    )
    password_hash_parallelism: int = Field(default=4, ge=1, le=16, description="Argon2id lanes per hash.")
    password_hash_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=64,
        description="Argon2id hashes computed at once (the hasher's own threads); unset: half the CPUs, at least 1.",
    )
    rate_limit_enabled: bool = Field(
        default=True, description="Enforce rate limits; switch off only for load tests and benchmarks."
    )
    rate_limit_auth: str | None = Field(
        default=None, description="Override the spec's `auth` policy, as `<requests>/<seconds>` (default 5/300)."
    )
    rate_limit_uploads: str | None = Field(
        default=None, description="Override the spec's `uploads` policy, as `<requests>/<seconds>` (default 10/300)."
    )
    rate_limit_general: str | None = Field(
        default=None, description="Override the spec's `general` policy, as `<requests>/<seconds>` (default 100/60)."
    )
    rate_limit_refresh: str | None = Field(
        default=None,
        description="Override the spec's `refresh` policy (per login session), as `<requests>/<seconds>` "
        "(default 10/300).",
    )
    account_state_ttl_seconds: float = Field(
        default=1.0,
        ge=0,
        le=5,
        description="How long a worker trusts an account's role and active flag it read, when no change event "
        "arrives sooner (0: read them on every request).",
    )
    channel_recheck_seconds: float = Field(
        default=1.0,
        gt=0,
        le=5,
        description="How often an open chat socket or event stream checks that its caller may still use it; "
        "revoked, it closes within about this time.",
    )
    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Proxy addresses or CIDRs (JSON list) whose `X-Forwarded-For` names the client; others are "
        "ignored, so a spoofed header cannot reset a rate limit.",
    )
    cors_allow_origins: list[str] = Field(
        default_factory=list,
        description="Origins (JSON list) allowed by CORS, with credentials. Empty: any origin without credentials "
        "in dev/test, none in staging/prod.",
    )

    # Real-time and streaming (docs/realtime.md).
    event_queue_size: int = Field(
        default=256, ge=1, le=100_000, description="Events buffered per subscriber; a slower one loses its oldest."
    )
    max_upload_bytes: int = Field(
        default=10_485_760, ge=1, description="Largest uploaded file, in bytes; counted while streaming, 413 beyond."
    )
    sse_heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300, description="Idle time after which an SSE stream sends a comment line."
    )
    sse_tick_seconds: float = Field(
        default=10.0, gt=0, le=3600, description="Interval of the `tick` event on the SSE stream."
    )
    sse_replay_size: int = Field(
        default=1000, ge=0, le=100_000, description="Events kept for `Last-Event-ID` resumption of SSE streams."
    )
    ws_max_message_bytes: int = Field(
        default=4096, ge=64, le=1_048_576, description="Largest WebSocket chat frame; larger closes with 1009."
    )
    ws_rate_limit: str = Field(
        default="20/10", description="Chat messages one connection may send, as `<messages>/<seconds>`."
    )
    ws_heartbeat_seconds: float = Field(
        default=20.0, gt=0, le=300, description="Interval of server pings on chat WebSockets; no pong closes it."
    )
    cpu_pool_workers: int = Field(
        default=2, ge=1, le=64, description="Processes in the pool that runs CPU-bound work (`/api/v1/demo/cpu`)."
    )

    # Observability and resilience (docs/observability.md).
    log_format: Literal["json", "console"] = Field(
        default="json", description="Log lines as JSON (default) or coloured console text (default in dev)."
    )
    access_log: bool = Field(default=True, description="One log line per request (method, route, status, time).")
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics to anyone (default in dev/test); otherwise only with METRICS_TOKEN.",
    )
    metrics_token: SecretStr | None = Field(
        default=None, description="Bearer token that may read /metrics when it is not public (e.g. Prometheus')."
    )
    request_timeout_seconds: float = Field(
        default=30.0, gt=0, le=600, description="Budget of one request; past it the answer is 504 (streams exempt)."
    )
    shutdown_grace_seconds: float = Field(
        default=20.0, gt=0, le=600, description="On SIGTERM, how long in-flight requests may take before they are cut."
    )
    tracing_enabled: bool = Field(
        default=False, description="Record OpenTelemetry traces of requests and their SQL and Redis calls."
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP collector base URL (`http://collector:4318`); spans go to its `/v1/traces`. "
        "Unset: traced (trace IDs in logs) but not exported.",
    )
    service_name: str = Field(default="charter", min_length=1, description="The traces' `service.name`.")
    tracing_sample_ratio: float = Field(
        default=1.0, ge=0, le=1, description="Share of new traces recorded; a caller's `traceparent` decision wins."
    )

    # Names of the settings APP_ENV=mock ignored because they were set (logged once at start-up).
    _ignored_in_mock: tuple[str, ...] = PrivateAttr(default=())

    @property
    def ignored_in_mock(self) -> tuple[str, ...]:
        """The settings that were set but that APP_ENV=mock ignores (DATABASE_URL, REDIS_URL, DATA_DIR)."""
        return self._ignored_in_mock

    def effective_database_url(self) -> str:
        """The database to use: DATABASE_URL, or the SQLite file in DATA_DIR."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.data_dir / 'charter.db'}"

    @model_validator(mode="before")
    @classmethod
    def _apply_environment_defaults(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        environment = str(data.get("app_env", "dev")).lower()
        for key, value in ENVIRONMENT_DEFAULTS.get(environment, {}).items():  # type: ignore[call-overload]
            data.setdefault(key, value)
        return data

    @model_validator(mode="wrap")
    @classmethod
    def _isolate_mock(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # Ignored rather than refused: a frontend developer's shell often exports the backend's DATABASE_URL, and
        # the mock must never write to that database. Each Settings gets its own scratch directory (a name only:
        # nothing is created here), so a restart starts from the seeded data again.
        ignored: tuple[str, ...] = ()
        if isinstance(data, dict) and str(data.get("app_env", "")).lower() == "mock":
            data = dict(data)
            ignored = tuple(name for name in MOCK_IGNORES if data.pop(name, None) is not None)
            data["data_dir"] = Path(tempfile.gettempdir()) / f"{MOCK_DATA_DIR_PREFIX}{secrets.token_hex(8)}"
        settings = handler(data)
        if isinstance(settings, Settings):
            settings._ignored_in_mock = ignored
        return settings

    def rate_limit_override(self, policy: str) -> str | None:
        """The configured override of a rate-limit policy, if any."""
        value = getattr(self, f"rate_limit_{policy}", None)
        return value if isinstance(value, str) else None

    @model_validator(mode="after")
    def _refuse_dev_secret_outside_dev(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if self.app_env in ("staging", "prod") and (secret == DEV_SECRET_KEY or len(secret) < MIN_SECRET_LENGTH):
            raise ValueError(
                f"SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} characters "
                f"when APP_ENV={self.app_env}; the development default is refused"
            )
        return self

    @model_validator(mode="after")
    def _refuse_workers_in_mock(self) -> Settings:
        if self.app_env == "mock" and self.workers > 1:
            # Each worker would have its own scratch database: a user created on one would be missing on the next.
            raise ValueError("APP_ENV=mock keeps its data in one process; use WORKERS=1")
        return self

    @model_validator(mode="after")
    def _refuse_rs256_without_keys(self) -> Settings:
        if self.jwt_algorithm == "RS256" and self.jwt_keys_dir is None:
            raise ValueError("JWT_ALGORITHM=RS256 needs JWT_KEYS_DIR (run `make jwt-keys` to create a key)")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide Settings, read from the environment once. ``get_settings.cache_clear()`` re-reads it."""
    return Settings()
