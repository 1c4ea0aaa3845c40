"""Read a deprecated operation's dates and links (`x-deprecated-at`, `x-sunset`, `x-deprecation-link`,
`x-sunset-link`), refusing a deprecation the service could not announce completely.

`deprecated: true` needs both dates (RFC 3339 date-times with a zone, or full dates meaning midnight UTC), the
sunset after the deprecation, the `Deprecation` and `Sunset` headers declared on every success response, and
the sunset date (YYYY-MM-DD) in the operation's description, so that the docs show it beside the strike-through.
The links, when given, must be absolute http(s) URLs or absolute paths: they go into `Link` headers verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

DEPRECATION_KEYS = ("x-deprecated-at", "x-sunset", "x-deprecation-link", "x-sunset-link")
ANNOUNCED_HEADERS = ("Deprecation", "Sunset")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# No whitespace, quotes or angle brackets: the URL is written between < and > in a Link header.
_LINK = re.compile(r"(https?://[^\s<>\"]+|/[^\s<>\"]*)")


@dataclass(frozen=True)
class DeprecationInfo:
    """When an operation was deprecated and when it goes away, as Unix seconds, with the optional links."""

    deprecated_at: int
    sunset: int
    deprecation_link: str | None = None
    sunset_link: str | None = None


def _instant(value: Any, key: str) -> datetime:
    # YAML turns unquoted timestamps and dates into datetime and date objects; quoted ones stay strings.
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"`{key}` {value.isoformat()} needs a time zone (e.g. Z)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return datetime.fromisoformat(value.upper().replace("Z", "+00:00")).astimezone(UTC)
    if isinstance(value, str) and _DATE.fullmatch(value):
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    raise ValueError(f"`{key}` must be an RFC 3339 date-time with a time zone or a full date, got {value!r}")


def _link(raw: Mapping[str, Any], key: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not _LINK.fullmatch(value):
        raise ValueError(f"`{key}` must be an absolute http(s) URL or an absolute path, got {value!r}")
    return value


def deprecation_dates(raw: Mapping[str, Any]) -> tuple[datetime, datetime] | None:
    """When a deprecated operation was deprecated and when it sunsets; None unless it is deprecated with both."""
    if not raw.get("deprecated", False) or any(key not in raw for key in DEPRECATION_KEYS[:2]):
        return None
    return _instant(raw["x-deprecated-at"], "x-deprecated-at"), _instant(raw["x-sunset"], "x-sunset")


def read_deprecation(
    raw: Mapping[str, Any], *, resolve: Callable[[Any], Any], success_statuses: list[int]
) -> DeprecationInfo | None:
    """The operation's deprecation, or None when it is not deprecated; ValueError says what is missing."""
    given = [key for key in DEPRECATION_KEYS if key in raw]
    if not raw.get("deprecated", False):
        if given:
            raise ValueError(f"{', '.join(f'`{key}`' for key in given)} without `deprecated: true`")
        return None
    missing = [key for key in DEPRECATION_KEYS[:2] if key not in raw]
    if missing:
        raise ValueError(
            f"`deprecated: true` needs {' and '.join(f'`{key}`' for key in missing)}: the dates its `Deprecation` "
            "and `Sunset` headers announce"
        )
    deprecated_at = _instant(raw["x-deprecated-at"], "x-deprecated-at")
    sunset = _instant(raw["x-sunset"], "x-sunset")
    if sunset <= deprecated_at:
        raise ValueError("`x-sunset` must come after `x-deprecated-at`")
    for status in success_statuses:
        response = resolve(raw["responses"][str(status)])
        declared = {name.lower() for name in response.get("headers", {})}
        absent = [name for name in ANNOUNCED_HEADERS if name.lower() not in declared]
        if absent:
            raise ValueError(f"the {status} response of a deprecated operation must declare the headers {absent}")
    if sunset.date().isoformat() not in (raw.get("description") or ""):
        raise ValueError(
            f"the description of a deprecated operation must name its sunset date ({sunset.date().isoformat()}), "
            "so the docs show it"
        )
    return DeprecationInfo(
        deprecated_at=int(deprecated_at.timestamp()),
        sunset=int(sunset.timestamp()),
        deprecation_link=_link(raw, "x-deprecation-link"),
        sunset_link=_link(raw, "x-sunset-link"),
    )
