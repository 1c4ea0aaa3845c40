"""spec/CHANGELOG.md: its "Unreleased" section is written from the contract diff; a release turns it into a heading.

Only the Unreleased section is generated (so it cannot drift from the diff); the released sections below it are
history and may be edited by hand. Changes are listed under the operation a client calls, breaking ones first:

    ### Breaking

    - `GET /api/v1/users`
      - query parameter `limit`: default 20 -> 5 (clients that leave it out get other results)
      - response 200 (application/json) field `items[].role`: enum values added: 'guest'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from scripts.schema_diff import Change

UNRELEASED = "## Unreleased"
_SECTION = re.compile(r"^## Unreleased\n(?P<body>.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)
# "query parameter limit", "security scheme oauth2", "response 200 header etag": the name goes in backticks.
_NAMED = re.compile(r"^(?P<kind>(?:path|query|header|cookie) parameter|security scheme|.* header) (?P<name>\S+)$")
# "request body application/json #/items[]/role": the media type, then a JSON Pointer-like path into the body.
_BODY = re.compile(r"^(?P<part>.*?) (?P<media>[^\s/]+/[^\s]+) #(?P<path>.*)$")


def readable(change: Change) -> str:
    """One change as a changelog item under its operation: where in the operation, then what changed."""
    location = change.location
    body, named = _BODY.match(location), _NAMED.match(location)
    if body:
        field = body["path"].lstrip("/").replace("/", ".")
        location = f"{body['part']} ({body['media']})" + (f" field `{field}`" if field else "")
    elif named:
        location = f"{named['kind']} `{named['name']}`"
    return f"{location}: {change.what}" if location else change.what


def _by_operation(changes: Iterable[Change]) -> list[str]:
    grouped: dict[str, list[str]] = {}
    for change in changes:
        grouped.setdefault(change.operation, []).append(readable(change))
    lines = []
    for operation in sorted(grouped, key=lambda text: (text.split(" ")[-1], text)):
        lines.append(f"- `{operation}`")
        lines += [f"  - {item}" for item in dict.fromkeys(grouped[operation])]
    return lines


def unreleased_body(changes: Sequence[Change], released: str | None) -> str:
    """The Unreleased section's text for these changes against the last released version (None: never released)."""
    if released is None:
        return "Nothing released yet: `make release` releases the contract as it is.\n"
    if not changes:
        return f"No contract changes since {released}.\n"
    lines = []
    for title, breaking in (("Breaking", True), ("Compatible", False)):
        entries = _by_operation(change for change in changes if change.breaking == breaking)
        if entries:
            lines += [f"### {title}", "", *entries, ""]
    return "\n".join(lines)


def current_unreleased(text: str) -> str | None:
    match = _SECTION.search(text)
    return match.group("body").strip("\n") + "\n" if match else None


def with_unreleased(text: str, body: str) -> str:
    """The changelog with its Unreleased section replaced by `body`."""
    if _SECTION.search(text) is None:
        raise ValueError(f"the changelog has no `{UNRELEASED}` section")
    return _SECTION.sub(lambda _: f"{UNRELEASED}\n\n{body}\n", text, count=1).rstrip("\n") + "\n"


def released(text: str, *, version: str, date: str, notes: str) -> str:
    """The changelog after releasing `version`: its notes under a new heading, and an empty Unreleased above."""
    section = f"{UNRELEASED}\n\nNo contract changes since {version}.\n\n## {version} ({date})\n\n{notes}\n"
    if _SECTION.search(text) is None:
        raise ValueError(f"the changelog has no `{UNRELEASED}` section")
    return _SECTION.sub(lambda _: section, text, count=1).rstrip("\n") + "\n"
