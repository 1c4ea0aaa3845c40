"""The real service for the benchmark: configured as production runs it, started fresh, seeded, signed in.

Production settings (APP_ENV=prod: RS256 tokens, JSON access log at info, Argon2id's default profile), with three
changes a benchmark needs: a throw-away DATA_DIR (fresh SQLite, migrations applied at start-up, because prod only
checks them), rate limits off (RATE_LIMIT_ENABLED=false, documented for load tests: one client at 10k req/s would
measure 429s), and a bootstrap admin with a random password. Its log goes to a file in the run's directory.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen  # nosec B404 - the type only
from typing import Any

from load.wrk import pinned_server
from scripts.generate_jwt_keys import write_key
from scripts.live_service import free_port

ADMIN_EMAIL = "bench-admin@example.com"
SEED_USERS = 100  # two full pages of 50, so the list reads a full page whatever the order
PAGE = 50


@dataclass(frozen=True, slots=True)
class Service:
    process: Popen[bytes]
    url: str
    token: str  # the admin's access token (15 min: longer than any one start of the service lasts)
    user_id: str  # a seeded user, read by the single-user measurement


def service_env(*, base: Mapping[str, str], run_dir: Path, port: int, admin_password: str) -> dict[str, str]:
    keys = run_dir / "jwt-keys"
    if not keys.exists():
        write_key(out=keys, kid="bench", bits=3072)
    return {
        **{k: v for k, v in base.items() if not k.startswith(("APP_", "DATABASE_", "REDIS_", "OTLP_"))},
        "APP_ENV": "prod",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "JWT_KEYS_DIR": str(keys),
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "WORKERS": "1",
        "DATA_DIR": str(run_dir / f"data-{port}"),
        "DB_MIGRATIONS": "apply",
        "RATE_LIMIT_ENABLED": "false",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": admin_password,
        "TRACING_ENABLED": "false",
    }


def call(method: str, url: str, *, body: Mapping[str, Any] | None = None, token: str | None = None) -> Any:
    """One JSON request with the standard library (the seeding is a few hundred requests; no client library needed)."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - our loopback URL
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310  # nosec B310
        return json.loads(response.read())


@contextmanager
def running_service(*, run_dir: Path, base_env: Mapping[str, str] | None = None) -> Iterator[Service]:
    """``python -m impl`` on the server core, in a fresh data directory, with SEED_USERS users and a signed-in admin.

    Its environment is ``base_env`` (default: this process's) with the settings above.
    """
    port = free_port()
    admin_password = secrets.token_urlsafe(24)
    base = os.environ if base_env is None else base_env
    env = service_env(base=base, run_dir=run_dir, port=port, admin_password=admin_password)
    url = f"http://127.0.0.1:{port}"
    with (
        (run_dir / f"service-{port}.log").open("ab") as log,
        pinned_server([sys.executable, "-m", "impl"], ready_url=f"{url}/readyz", env=env, log=log) as process,
    ):
        token = call("POST", f"{url}/api/v1/auth/login", body={"email": ADMIN_EMAIL, "password": admin_password})[
            "access_token"
        ]
        # Without passwords: seeding measures nothing, and Argon2 would make it take a minute.
        users = [
            call(
                "POST",
                f"{url}/api/v1/users",
                body={"email": f"seed-{n}@example.com", "name": f"Seeded User {n}"},
                token=token,
            )
            for n in range(SEED_USERS)
        ]
        yield Service(process=process, url=url, token=token, user_id=str(users[SEED_USERS // 2]["id"]))


def create_users_script(path: Path, *, token: str) -> Path:
    """A wrk Lua script that POSTs users with unique emails (a fresh prefix per script) and a password."""
    prefix = f"bench-{secrets.token_hex(6)}"
    # Random, so never on the blocklist, and free of the email's and name's words.
    password = secrets.token_urlsafe(18)
    path.write_text(
        f"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {token}"
local counter = 0
request = function()
  counter = counter + 1
  local body = string.format(
    '{{"email":"{prefix}-%d@example.com","name":"Load %d","password":"{password}"}}', counter, counter)
  return wrk.format(nil, nil, nil, body)
end
""",
        encoding="utf-8",
    )
    return path


def soak_script(path: Path, *, token: str, user_id: str) -> Path:
    """A wrk Lua script cycling through the three reads: /health, one user, a page of 50 users."""
    path.write_text(
        f"""
wrk.headers["Authorization"] = "Bearer {token}"
local paths = {{"/health", "/api/v1/users/{user_id}", "/api/v1/users?limit={PAGE}"}}
local n = 0
request = function()
  n = n + 1
  return wrk.format("GET", paths[(n % 3) + 1])
end
""",
        encoding="utf-8",
    )
    return path
