"""spec/CHANGELOG.md: its "Unreleased" section is written from the contract diff; a release turns it into a heading.

Only the Unreleased section is generated (so it cannot drift from the diff); the released sections below it are
history and may be edited by hand.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from scripts.schema_diff import Change

UNRELEASED = "## Unreleased"
_SECTION = re.compile(r"^## Unreleased\n(?P<body>.*?)(?=^## |\Z)", re.MULTILINE | re.DOTALL)


def unreleased_body(changes: Sequence[Change], released: str | None) -> str:
    """The Unreleased section's text for these changes against the last released version (None: never released)."""
    if released is None:
        return "Nothing released yet: `make release` releases the contract as it is.\n"
    if not changes:
        return f"No contract changes since {released}.\n"
    lines = []
    for title, breaking in (("Breaking", True), ("Compatible", False)):
        entries = [f"- `{change.where}`: {change.what}" for change in changes if change.breaking == breaking]
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
