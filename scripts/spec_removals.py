"""Deprecate before remove: which operations the spec removes before their deprecation has run its course.

A client needs warning before an operation it calls goes away. So an operation may leave the contract only after
a released contract marked it `deprecated: true` with an `x-sunset` (its responses then carried `Deprecation` and
`Sunset` headers, RFC 9745 and RFC 8594), and only once that sunset has passed. The removal is still a breaking
change: it needs the major version bump as well (scripts/check_breaking.py). Removing an operation that was never
deprecated, or before its sunset, fails the gate whatever the version says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scripts.spec_deprecation import deprecation_dates
from scripts.spec_diff import operations


def premature_removals(released: dict[str, Any], spec: dict[str, Any], *, now: datetime) -> list[str]:
    """One line per operation of `released` that `spec` removes too early, saying why."""
    version = released.get("info", {}).get("version")
    before, after = operations(released), operations(spec)
    found = []
    for key in sorted(set(before) - set(after)):
        method, path, operation, _ = before[key]
        try:
            dates = deprecation_dates(operation)
        except ValueError as error:
            found.append(
                f"{method} {path}: removed, but its deprecation in the released {version} is malformed: {error}"
            )
            continue
        if dates is None:
            found.append(f"{method} {path}: removed, but the released {version} never deprecated it")
        elif dates[1] > now:
            found.append(f"{method} {path}: removed before its sunset {dates[1].date()} (released {version})")
    return found
