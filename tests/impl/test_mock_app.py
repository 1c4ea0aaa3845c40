"""The service as a stateful mock (APP_ENV=mock): the demo accounts sign in, what is written lasts as long as the
process and is gone after a restart, and a DATABASE_URL or REDIS_URL in the environment is never used."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.platform.settings import Settings
from impl.users.demo_accounts import DEMO_ACCOUNTS, DEMO_PASSWORD
from tests.conftest import bearer
from tests.server_processes import server_process

BOGUS_DATABASE = "postgresql+asyncpg://nobody:secret@bogus.invalid:5432/nothing"
BOGUS_REDIS = "redis://bogus.invalid:6379/0"
ADMIN = DEMO_ACCOUNTS[0]
NEW_USER = {"email": "frontend.dev@example.com", "name": "Frontend Dev", "role": "user"}


def mock_settings(**overrides: Any) -> Settings:
    return Settings(app_env="mock", **overrides)


@contextmanager
def mock_client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield client


def sign_in(client: TestClient, email: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    return bearer(response.json()["access_token"])


def user_emails(client: TestClient, headers: dict[str, str]) -> set[str]:
    response = client.get("/api/v1/users?limit=100", headers=headers)
    assert response.status_code == 200, response.text
    return {user["email"] for user in response.json()["items"]}


def test_every_demo_account_signs_in_with_its_role() -> None:
    # One more sign-in than the `auth` policy's default 5 per client would allow; the policy itself stays on.
    with mock_client(mock_settings(rate_limit_auth="20/60")) as client:
        for account in DEMO_ACCOUNTS:
            me = client.get("/api/v1/auth/me", headers=sign_in(client, account.email))
            assert me.status_code == 200
            assert (me.json()["email"], me.json()["role"]) == (account.email, account.role.value)
        assert {account.role.value for account in DEMO_ACCOUNTS} == {"admin", "moderator", "user"}
        wrong = client.post("/api/v1/auth/login", json={"email": ADMIN.email, "password": "not the demo password"})
        assert wrong.status_code == 401


def test_a_frontend_can_sign_in_again_and_again_under_a_relaxed_auth_limit() -> None:
    # A journey signs in and refreshes each run; the spec's 5 per 300 s would lock the second run out.
    with mock_client(mock_settings()) as client:
        for _ in range(3):
            for account in DEMO_ACCOUNTS:
                answer = client.post("/api/v1/auth/login", json={"email": account.email, "password": DEMO_PASSWORD})
                assert answer.status_code == 200, answer.text
        # Still a limit, announced as usual.
        assert answer.headers["ratelimit-policy"] == '"auth";q=60;w=60'


def test_what_is_written_lasts_for_the_process_and_is_gone_after_a_restart() -> None:
    first = mock_settings()
    with mock_client(first) as client:
        headers = sign_in(client, ADMIN.email)
        created = client.post("/api/v1/users", json=NEW_USER, headers=headers)
        assert created.status_code == 201, created.text
        location = created.headers["location"]
        # Later requests (new sessions, new connections) see it.
        assert client.get(location, headers=headers).status_code == 200
        assert NEW_USER["email"] in user_emails(client, headers)
        assert first.data_dir.is_dir()
    assert not first.data_dir.exists()  # removed at shutdown

    second = mock_settings()
    assert second.data_dir != first.data_dir
    with mock_client(second) as client:
        headers = sign_in(client, ADMIN.email)  # seeded again
        assert client.get(location, headers=headers).status_code == 404
        emails = user_emails(client, headers)
        assert NEW_USER["email"] not in emails
        assert emails == {account.email for account in DEMO_ACCOUNTS}


def test_a_database_url_and_redis_url_in_the_environment_are_not_used() -> None:
    # Start-up applies migrations and every write goes to the database: either would fail on bogus.invalid.
    settings = mock_settings(database_url=BOGUS_DATABASE, redis_url=BOGUS_REDIS)
    with mock_client(settings) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.text
        # No Redis-backed store is checked: the mock's rate limits, blacklist and events are in-process.
        assert {check["name"] for check in ready.json()["checks"]} == {"data_dir", "database", "accepting_requests"}
        headers = sign_in(client, ADMIN.email)
        assert client.post("/api/v1/users", json=NEW_USER, headers=headers).status_code == 201
        logout = client.post("/api/v1/auth/logout", headers=headers)
        assert logout.status_code == 204
        assert client.get("/api/v1/auth/me", headers=headers).status_code == 401  # the in-process blacklist


def test_the_mock_answers_browsers_from_local_dev_servers() -> None:
    with mock_client(mock_settings()) as client:
        preflight = client.options(
            "/api/v1/users",
            headers={
                "Origin": "http://localhost:5173",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert client.get("/docs").status_code == 200
        assert client.get("/metrics").status_code == 200


def test_python_m_impl_as_a_mock_ignores_the_environments_database(tmp_path: Path) -> None:
    """The real entry point, configured only by environment variables, as `make mock-api` runs it."""
    data_dir = tmp_path / "configured"
    with server_process(
        data_dir=data_dir,
        APP_ENV="mock",
        DATABASE_URL=BOGUS_DATABASE,
        REDIS_URL=BOGUS_REDIS,
        ADMIN_EMAIL="",  # the demo admin, not the suite's bootstrap admin
        RATE_LIMIT_ENABLED="true",
    ) as server:
        with httpx2.Client(base_url=server.url, timeout=10) as http:
            login = http.post("/api/v1/auth/login", json={"email": ADMIN.email, "password": DEMO_PASSWORD})
            assert login.status_code == 200, login.text
            token = login.json()["access_token"]
            created = http.post("/api/v1/users", json=NEW_USER, headers=bearer(token))
            assert created.status_code == 201, created.text
        log = (data_dir / "server.log").read_text(encoding="utf-8", errors="replace")
        scratch = re.search(r"scratch data in (\S+), removed at shutdown", log)
        assert scratch is not None, log
        assert Path(scratch[1]).is_dir()
    assert "APP_ENV=mock ignores DATABASE_URL, REDIS_URL, DATA_DIR" in log
    assert f"each with the password '{DEMO_PASSWORD}'" in log
    assert all(account.email in log for account in DEMO_ACCOUNTS)
    assert "bogus.invalid" not in log
    # Nothing was written where DATA_DIR pointed (only the test's own server log), and the scratch data is gone.
    assert sorted(path.name for path in data_dir.iterdir()) == ["server.log"]
    assert not Path(scratch[1]).exists()
