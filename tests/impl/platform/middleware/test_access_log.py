"""One access line per request, with the route template, status, timing, request ID and caller; no credential in any
line, whatever the request carried."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer, test_settings
from tests.impl.platform.log_capture import CapturedLogs, captured_logs
from tests.server_processes import server_process

AUTH = "/api/v1/auth"
NEW_PASSWORD = "a brand new passphrase nobody logs"  # nosec B105 - a test fixture
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
ACCESS_FIELDS = {"method", "route", "status", "duration_ms", "request_id", "user_id", "client", "bytes_sent"}


@pytest.fixture
def logs() -> Iterator[CapturedLogs]:
    with captured_logs(level="debug") as captured:
        yield captured


@pytest.fixture
def client(logs: CapturedLogs, tmp_path: Path) -> Iterator[TestClient]:
    # Logging is configured first: the app's loggers render through it from the start.
    app = create_app(test_settings(tmp_path / "data"))
    logs.follow(app.state.answered)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def sign_in(client: TestClient, password: str = ADMIN_PASSWORD) -> dict[str, Any]:
    response = client.post(f"{AUTH}/login", json={"email": ADMIN_EMAIL, "password": password})
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


def the_access_line(logs: CapturedLogs, response: httpx.Response) -> dict[str, Any]:
    request_id = response.headers["x-request-id"]
    (line,) = [line for line in logs.access_lines() if line["request_id"] == request_id]
    return line


def test_passwords_and_tokens_never_appear_in_any_line(client: TestClient, logs: CapturedLogs) -> None:
    first = sign_in(client)
    form = client.post(f"{AUTH}/token", data={"grant_type": "password", "username": ADMIN_EMAIL, "password": "wrong"})
    assert form.status_code == 401
    assert client.get(f"{AUTH}/me", headers=bearer(first["access_token"])).status_code == 200
    assert client.get(f"{AUTH}/me", headers=bearer(first["access_token"] + "tampered")).status_code == 401
    refreshed = client.post(f"{AUTH}/refresh", json={"refresh_token": first["refresh_token"]})
    assert refreshed.status_code == 200
    change = client.post(
        f"{AUTH}/me/password",
        json={"current_password": ADMIN_PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(refreshed.json()["access_token"]),
    )
    assert change.status_code == 204, change.text
    second = sign_in(client, NEW_PASSWORD)
    assert client.post(f"{AUTH}/refresh", json={"refresh_token": first["refresh_token"]}).status_code == 401

    secrets = {
        ADMIN_PASSWORD,
        NEW_PASSWORD,
        *first.values(),
        *refreshed.json().values(),
        *second.values(),
    } - {"Bearer", "bearer"}
    secrets = {secret for secret in secrets if isinstance(secret, str)}
    lines = logs.lines()  # every line parses as JSON
    assert len(logs.access_lines()) == 8
    assert all({"timestamp", "level", "logger", "event"} <= line.keys() for line in lines)
    assert [secret for secret in secrets if secret in logs.text] == []


def test_an_authenticated_request_is_logged_with_its_route_template_caller_and_request_id(
    client: TestClient, logs: CapturedLogs
) -> None:
    token = sign_in(client)["access_token"]
    me = client.get(f"{AUTH}/me", headers=bearer(token)).json()
    response = client.get(
        f"/api/v1/users/{me['id']}",
        headers={**bearer(token), "X-Request-ID": "req-users-1", "traceparent": f"00-{TRACE}-00f067aa0ba902b7-01"},
    )
    assert response.status_code == 200

    line = the_access_line(logs, response)
    assert line.keys() >= ACCESS_FIELDS
    assert line["event"] == "request"
    assert line["level"] == "info"
    assert line["method"] == "GET"
    assert line["route"] == "/api/v1/users/{user_id}"
    assert line["status"] == 200
    assert line["request_id"] == "req-users-1"
    assert line["trace_id"] == TRACE
    assert line["user_id"] == me["id"]
    assert line["client"] == "testclient:50000"
    assert line["bytes_sent"] == len(response.content)
    assert 0 <= line["duration_ms"] < 10_000


def test_anonymous_and_unmatched_requests_are_logged_too(client: TestClient, logs: CapturedLogs) -> None:
    health = client.get("/health")
    missing = client.get("/api/v1/no-such-thing/42")
    wrong_method = client.delete(f"{AUTH}/login")

    health_line = the_access_line(logs, health)
    assert (health_line["route"], health_line["status"], health_line["user_id"]) == ("/health", 200, None)
    assert "trace_id" not in health_line
    missing_line = the_access_line(logs, missing)
    # No route matched: no template, and the raw path (with whatever IDs it holds) is not logged instead.
    assert (missing_line["route"], missing_line["status"]) == (None, 404)
    assert "/api/v1/no-such-thing/42" not in json.dumps(missing_line)
    assert (the_access_line(logs, wrong_method)["route"], wrong_method.status_code) == (f"{AUTH}/login", 405)


def test_a_streamed_response_is_logged_once_at_its_end_with_all_its_bytes(
    client: TestClient, logs: CapturedLogs
) -> None:
    token = sign_in(client)["access_token"]
    response = client.get("/api/v1/users/export", headers=bearer(token))
    assert response.status_code == 200

    line = the_access_line(logs, response)
    assert line["route"] == "/api/v1/users/export"
    assert line["bytes_sent"] == len(response.content) > 0


def test_a_crash_is_logged_with_its_500_and_the_same_request_id(tmp_path: Path, logs: CapturedLogs) -> None:
    app = create_app(test_settings(tmp_path / "data"))
    logs.follow(app.state.answered)
    leaked = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"

    @app.get("/boom", include_in_schema=False)
    async def boom() -> None:
        raise RuntimeError(f"could not use token {leaked}")

    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/boom")

    assert response.status_code == 500
    line = the_access_line(logs, response)
    assert (line["route"], line["status"]) == ("/boom", 500)
    errors = [entry for entry in logs.lines() if entry["logger"] == "charter.problems"]
    assert [entry["request_id"] for entry in errors] == [response.headers["x-request-id"]]
    assert "RuntimeError: could not use token [REDACTED]" in errors[0]["exception"]
    assert leaked not in logs.text


def test_access_log_off_writes_no_access_line(tmp_path: Path, logs: CapturedLogs) -> None:
    app = create_app(test_settings(tmp_path / "data", access_log=False))
    with TestClient(app) as client:
        assert client.get("/health").status_code == 200
    assert logs.lines()  # the app still logs (start-up, migrations)
    assert logs.access_lines() == []


def test_a_level_above_info_writes_no_access_line(tmp_path: Path) -> None:
    # Access lines skip stdlib records (the hot path), but honour the level as an INFO record would.
    with captured_logs(level="warning") as quiet, TestClient(create_app(test_settings(tmp_path / "data"))) as client:
        assert client.get("/health").status_code == 200
    assert quiet.access_lines() == []


def test_the_console_format_renders_access_lines_too(tmp_path: Path) -> None:
    with (
        captured_logs(level="info", log_format="console") as console,
        TestClient(create_app(test_settings(tmp_path / "data"))) as client,
    ):
        response = client.get("/health")
    (line,) = [line for line in console.text.splitlines() if response.headers["x-request-id"] in line]
    assert "request" in line
    assert "route=/health" in line
    assert "status=200" in line


def test_no_access_line_once_our_handler_is_gone(tmp_path: Path) -> None:
    # A test (or an embedding process) that puts its own logging back gets no stray lines in our old buffer.
    with captured_logs(level="info") as earlier:
        pass
    with TestClient(create_app(test_settings(tmp_path / "data"))) as client:
        assert client.get("/health").status_code == 200
    assert earlier.access_lines() == []


@pytest.mark.slow
def test_a_real_server_writes_only_json_lines_and_no_credential(tmp_path: Path) -> None:
    with server_process(data_dir=tmp_path, LOG_LEVEL="info") as server:
        login = httpx.post(f"{server.url}{AUTH}/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        token = login.json()["access_token"]
        me = httpx.get(f"{server.url}{AUTH}/me", headers=bearer(token))
        assert me.status_code == 200

    text = (tmp_path / "server.log").read_text()
    lines = [json.loads(line) for line in text.splitlines() if line]
    assert all({"timestamp", "level", "logger", "event"} <= line.keys() for line in lines)
    assert any(line["logger"].startswith("uvicorn") for line in lines)  # uvicorn's own lines, as JSON
    access = [line for line in lines if line["logger"] == "charter.access"]
    me_line = next(line for line in access if line["request_id"] == me.headers["x-request-id"])
    assert (me_line["route"], me_line["status"], me_line["user_id"]) == (f"{AUTH}/me", 200, me.json()["id"])
    assert me_line["client"].startswith("127.0.0.1:")
    assert not any(line["logger"] == "uvicorn.access" for line in lines)
    assert ADMIN_PASSWORD not in text
    assert token not in text
    assert login.json()["refresh_token"] not in text
