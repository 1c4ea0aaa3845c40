"""HTTP conditional requests (RFC 9110 §13): entity-tag lists, HTTP dates, and the comparisons between them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

_ETAG = re.compile(r'\s*(W/)?("[^"]*")\s*(?:,|$)')


def http_date(instant: datetime) -> str:
    return format_datetime(instant.astimezone(UTC), usegmt=True)


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP-date, or None when absent or invalid (an invalid date is ignored, as RFC 9110 says)."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _tags(header: str) -> list[tuple[bool, str]] | None:
    """(weak, opaque-tag) pairs of an If-Match / If-None-Match list; None for ``*``."""
    if header.strip() == "*":
        return None
    return [(bool(match.group(1)), match.group(2)) for match in _ETAG.finditer(header)]


def none_match(header: str | None, current: str) -> bool:
    """True when If-None-Match says the client's copy is current (weak comparison)."""
    if header is None:
        return False
    tags = _tags(header)
    return tags is None or any(tag == current for _, tag in tags)


def if_match_fails(header: str | None, current: str) -> bool:
    """True when If-Match is present and names no current representation (strong comparison)."""
    if header is None:
        return False
    tags = _tags(header)
    return tags is not None and not any(not weak and tag == current for weak, tag in tags)


def not_modified_since(header: str | None, last_modified: datetime) -> bool:
    since = parse_http_date(header)
    return since is not None and last_modified.replace(microsecond=0) <= since
