"""Credentials are masked in every log event, under sensitive keys and wherever their shape appears in a value."""

from __future__ import annotations

from typing import Any

import pytest

from impl.platform.log_redaction import MASK, redact_secrets, redact_value

pytestmark = pytest.mark.unit

A_JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", event))


@pytest.mark.parametrize(
    "key",
    [
        "password",
        "current_password",
        "new_password",
        "admin_password",
        "token",
        "access_token",
        "refresh_token",
        "metrics_token",
        "secret",
        "secret_key",
        "client_secret",
        "api_key",
        "X-API-Key",
        "Authorization",
        "Cookie",
        "Set-Cookie",
    ],
)
def test_values_under_sensitive_keys_are_masked(key: str) -> None:
    assert redact(**{key: "s3cr3t-value"})[key] == MASK


def test_ordinary_keys_are_kept_including_a_token_s_id() -> None:
    event = redact(event="signed in", user_id="42", token_id="jti-1", status=200, duration_ms=1.5)
    assert event == {"event": "signed in", "user_id": "42", "token_id": "jti-1", "status": 200, "duration_ms": 1.5}


def test_nested_headers_as_a_mapping_or_as_asgi_pairs_are_masked() -> None:
    event = redact(
        headers={"authorization": "Bearer abc", "accept": "application/json"},
        raw_headers=[(b"cookie", b"session=abc"), (b"accept", b"*/*")],
    )
    assert event["headers"] == {"authorization": MASK, "accept": "application/json"}
    assert event["raw_headers"] == [("cookie", MASK), ["accept", "*/*"]]


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        (f"token {A_JWT} expired", A_JWT),
        ("Authorization: Bearer opaque-credential-123", "opaque-credential-123"),
        ("sent basic dXNlcjpwYXNz", "dXNlcjpwYXNz"),
        ("password=hunter2&email=a@example.com", "hunter2"),
        ('{"email": "a@example.com", "new_password": "correct horse"}', "correct horse"),
        ("current_password='tr0ub4dor'", "tr0ub4dor"),
        ("refresh_token: abc.def", "abc.def"),
        ("redis://:hunter2-secret@127.0.0.1:6379/0 unreachable", "hunter2-secret"),
        ("postgresql+asyncpg://app:pa55@db/charter", "pa55"),
    ],
)
def test_credential_shapes_inside_any_value_are_masked(text: str, leaked: str) -> None:
    redacted = redact_value(text)
    assert leaked not in redacted
    assert MASK in redacted


def test_the_rest_of_a_message_survives() -> None:
    assert redact_value(f"refused {A_JWT} from 10.0.0.1") == f"refused {MASK} from 10.0.0.1"
    assert redact_value("postgresql+asyncpg://app:pa55@db/charter") == f"postgresql+asyncpg://app:{MASK}@db/charter"
    assert redact_value("email=a@example.com") == "email=a@example.com"
