"""The last line of defence before a log line is written: credentials are masked, whoever logged them.

Code should never log a secret, but exception messages, third-party loggers and ``extra`` dicts are not under
our control. So every event (structlog's and stdlib's alike) passes through :func:`redact_secrets` just before it
is rendered: values under sensitive keys are replaced, and credential-shaped substrings (JWTs, ``Bearer ...``,
``password=...``, a URL's password) are masked wherever they appear, in messages and tracebacks too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any

from structlog.typing import EventDict, WrappedLogger

MASK = "[REDACTED]"
# Compared after lower-casing and turning '-' into '_', so header names and parameter names match alike.
SENSITIVE_KEYS = frozenset(
    {
        "authorization",
        "proxy_authorization",
        "cookie",
        "set_cookie",
        "password",
        "current_password",
        "new_password",
        "token",
        "access_token",
        "refresh_token",
        "id_token",
        "secret",
        "client_secret",
        "secret_key",
        "api_key",
        "apikey",
        "x_api_key",
    }
)
# Also any key ending like these (admin_password, metrics_token, ...); "token_id" (a JWT's jti) is not a secret.
SENSITIVE_SUFFIXES = ("password", "_token", "secret", "secret_key", "api_key")

# Values are scanned for credential shapes; each pattern keeps a harmless prefix so the line stays readable.
VALUE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A JWS compact serialisation: base64url JSON header and payload (both start with '{"' = eyJ), signature.
    (re.compile(r"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*"), MASK),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), rf"\1 {MASK}"),
    # key=value, key: value, "key": "value" for the sensitive names, as in a form body, a query or a repr.
    (
        re.compile(
            r"(?i)([\"']?\b(?:[a-z_]*password|passwd|[a-z_]*secret|(?:access_|refresh_|id_)?token|api[_-]?key)"
            r"[\"']?\s*[:=]\s*)(?:\"[^\"]*\"|'[^']*'|[^\s,&;}\])]+)"
        ),
        rf"\1{MASK}",
    ),
    # scheme://user:password@host (database and Redis URLs in error messages).
    (re.compile(r"([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), rf"\1{MASK}@"),
)
# Each pattern above needs one of these (ignoring case, a superset of "eyJ"): a string without any cannot match,
# and one check replaces four substitutions. Almost every value logged is such a string (an access line's fields
# are), and the four substitutions cost a sixth of a GET /health answer (py-spy, `make bench`). Substring tests on
# the case-folded text, not one case-insensitive alternation: Python's regex engine tries every alternative at every
# position, ~6 µs for an access line's text; this is a tenth of that.
_TRIGGERS = ("eyj", "bearer", "basic", "passw", "secret", "token", "apikey", "api_key", "api-key", "://")


def _may_hold_a_secret(text: str) -> bool:
    lowered = text.casefold()  # as the patterns' (?i) folds: "Paſſword" is a password too
    for trigger in _TRIGGERS:  # noqa: SIM110 - a plain loop: any() over a generator costs twice as much here
        if trigger in lowered:
            return True
    return False


def is_sensitive_key(key: object) -> bool:
    if isinstance(key, bytes):
        key = key.decode("latin-1")
    if not isinstance(key, str):
        return False
    return _is_sensitive_name(key)


# Every line asks about the same few keys (an access line has a dozen), so the answer is kept per key: this was the
# largest single cost of rendering an access line (cProfile). Bounded, as keys come from code and third parties.
@functools.lru_cache(maxsize=1024)
def _is_sensitive_name(key: str) -> bool:
    name = key.lower().replace("-", "_")
    return name in SENSITIVE_KEYS or name.endswith(SENSITIVE_SUFFIXES)


def redact_text(text: str) -> str:
    if not _may_hold_a_secret(text):
        return text
    for pattern, replacement in VALUE_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any) -> Any:
    """The value with every credential in it masked; containers are walked, other objects left as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", errors="replace"))
    if isinstance(value, Mapping):
        return {key: MASK if is_sensitive_key(key) else redact_value(item) for key, item in value.items()}
    if isinstance(value, tuple) and len(value) == 2 and is_sensitive_key(value[0]):
        return (redact_value(value[0]), MASK)  # a (name, value) header pair, as ASGI and httpx keep them
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(item) for item in value]
    return value


def redact_secrets(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """A structlog processor: :func:`redact_value` applied to the whole event."""
    # The usual line (every access line): flat scalars. One scan over all its text at once; the separator can be
    # part of no trigger word, so a hit in any one value is a hit here, and no hit means nothing to mask. One plain
    # loop collects the text and checks the types (two generator passes were a third of an access line's rendering).
    texts: list[str] = []
    for value in event_dict.values():
        if isinstance(value, str):
            texts.append(value)
        elif value is not None and not isinstance(value, _NUMBERS):
            return _redact_each(event_dict)
    if _may_hold_a_secret("\x00".join(texts)):
        return _redact_each(event_dict)
    sensitive = _sensitive_keys_among(tuple(event_dict))
    if not sensitive:
        return event_dict  # the common case (every access line): nothing to mask, nothing copied
    return {key: MASK if key in sensitive else value for key, value in event_dict.items()}


def _redact_each(event_dict: EventDict) -> EventDict:
    return {key: MASK if is_sensitive_key(key) else redact_value(value) for key, value in event_dict.items()}


# Lines of one kind have the same keys in the same order (an access line's dozen), so the verdict on the whole set
# is kept: one lookup instead of one per key. Bounded, as key sets come from code and third parties.
@functools.lru_cache(maxsize=256)
def _sensitive_keys_among(keys: tuple[Any, ...]) -> frozenset[Any]:
    return frozenset(key for key in keys if is_sensitive_key(key))


_NUMBERS = (int, float)  # bool is an int
