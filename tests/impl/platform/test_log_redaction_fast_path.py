"""redact_text's fast path (one scan for the patterns' markers) masks exactly what the four substitutions mask."""

from __future__ import annotations

import itertools
import random

import pytest

from impl.platform.log_redaction import MASK, VALUE_PATTERNS, redact_text

pytestmark = pytest.mark.unit

FRAGMENTS = [
    "GET /api/v1/users/{user_id}",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl",
    "Authorization: Bearer abc.def",
    "basic dXNlcjpwdw==",
    "password=hunter2",
    "PASSWD: 'x'",
    '"client_secret": "s3cr3t"',
    "access_token=abc&x=1",
    "api-key: k",
    "postgresql://charter:pw@db:5432/charter",
    "redis://:pw@cache:6379/0",
    "127.0.0.1:54321",
    "duration 12.5 ms",
    "Paſſword=kelvin",  # Unicode case folding: the long s matches s when case is ignored
    "tokenless",
    "",
]


def full_redaction(text: str) -> str:
    for pattern, replacement in VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def test_the_fast_path_agrees_with_every_substitution() -> None:
    rng = random.Random(7)  # noqa: S311 - a fixed sample of test strings, not a secret
    texts = [" ".join(pair) for pair in itertools.product(FRAGMENTS, repeat=2)]
    texts += ["".join(rng.choice(FRAGMENTS) for _ in range(4)) for _ in range(500)]
    for text in texts:
        assert redact_text(text) == full_redaction(text), text


def test_plain_values_come_back_untouched_and_secrets_still_masked() -> None:
    plain = "GET /api/v1/users/{user_id} 200 12.5 ms 127.0.0.1"
    assert redact_text(plain) is plain
    assert MASK in redact_text("password=hunter2")


def test_a_flat_event_is_masked_exactly_as_value_by_value_redaction_would() -> None:
    # redact_secrets scans a flat event's strings in one go; it must mask the same things as the per-value walk.
    from impl.platform.log_redaction import redact_secrets, redact_value

    rng = random.Random(11)  # noqa: S311 - a fixed sample of test events, not a secret
    for _ in range(300):
        event: dict[str, object] = {f"field_{index}": rng.choice(FRAGMENTS) for index in range(rng.randint(1, 6))}
        event["status"] = 200
        event["duration_ms"] = 1.5
        event["user_id"] = None
        if rng.random() < 0.3:
            event["refresh_token"] = "opaque-value"
        expected = {key: MASK if key == "refresh_token" else redact_value(value) for key, value in event.items()}
        assert redact_secrets(None, "info", event) == expected
