"""Contract fuzzing in-process (fast feedback): every spec operation, every check, examples/coverage/fuzzing phases.

schemathesis.toml (auto-discovered) sets the checks, phases, seed and generation mode, the same file `make fuzz`
uses against the real server, and loads tests/schemathesis_hooks.py, whose auth providers sign in through the app
itself, so secured operations are fuzzed authenticated here too. The schema is loaded from the app's own
/openapi.json, i.e. what clients see.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import Case
from schemathesis.core.failures import FailureGroup
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from impl.app import create_app
from impl.platform.data_dir import ensure_data_dir
from tests.conftest import sign_in, test_settings

# Built at collection, because Schemathesis parametrises the test from the schema then. (Its fixture-based loader
# does not run under pytest 9.2.) The data directory is a throw-away one, created up front as the lifespan would.
# test_settings bootstraps the test admin (the hooks sign in as it, in-process) and turns rate limits off: the
# fuzzer is one client calling every operation, and rate limiting has its own tests.
_DATA_DIR = ensure_data_dir(Path(tempfile.mkdtemp(prefix="charter-contract-")))
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(test_settings(_DATA_DIR)))


@schema.parametrize()
def test_every_operation_keeps_its_contract(case: Case[Any]) -> None:
    case.call_and_validate()


class _Tamper:
    """Wraps the real app and changes /health's answer the way a buggy handler could, to prove the checks bite."""

    def __init__(self, app: ASGIApp, *, status: int | None = None, body: bytes | None = None) -> None:
        self.app, self.status, self.body = app, status, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/health":
            await self.app(scope, receive, send)
            return

        async def tampered(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message["headers"] if k != b"content-length"]
                if self.body is not None:
                    headers.append((b"content-length", str(len(self.body)).encode()))
                message = {**message, "status": self.status or message["status"], "headers": headers}
            elif message["type"] == "http.response.body" and self.body is not None:
                message = {**message, "body": self.body}
            await send(message)

        await self.app(scope, receive, tampered)


def _failure_of(app: ASGIApp) -> str:
    tampered = schemathesis.openapi.from_asgi("/openapi.json", app)
    case = tampered["/health"]["GET"].Case()
    with pytest.raises(FailureGroup) as failure:
        case.call_and_validate()
    return str(failure.value)


@pytest.fixture
def real_app(tmp_path: Path) -> ASGIApp:
    return create_app(test_settings(ensure_data_dir(tmp_path)))


def test_a_response_that_breaks_its_schema_fails_the_contract(real_app: ASGIApp) -> None:
    message = _failure_of(_Tamper(real_app, body=b'{"status":"ok","version":1}'))
    assert "Response violates schema" in message


def test_an_undeclared_status_code_fails_the_contract(real_app: ASGIApp) -> None:
    message = _failure_of(_Tamper(real_app, status=418))
    assert "Undocumented status code" in message
    assert "Received: 418" in message


class _LetAnonymousIn:
    """Wraps the real app and signs every anonymous request in with a valid token: an API that ignores missing
    credentials, exactly what Schemathesis' ``ignored_auth`` check must catch."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app, self.header = app, (b"authorization", f"Bearer {token}".encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not any(name == b"authorization" for name, _ in scope["headers"]):
            scope = {**scope, "headers": [*scope["headers"], self.header]}
        await self.app(scope, receive, send)


def test_an_operation_that_lets_anonymous_callers_in_fails_the_contract(tmp_path: Path) -> None:
    from schemathesis.specs.openapi.checks import ignored_auth

    app = create_app(test_settings(ensure_data_dir(tmp_path)))
    with TestClient(app) as client:
        token = sign_in(client)
        tampered = schemathesis.openapi.from_asgi("/openapi.json", _LetAnonymousIn(app, token))
        case = tampered["/api/v1/auth/me"]["GET"].Case(headers={"Authorization": f"Bearer {token}"})
        with pytest.raises(FailureGroup) as failure:
            case.call_and_validate(checks=[ignored_auth])
    assert "API accepts requests without authentication" in str(failure.value)
