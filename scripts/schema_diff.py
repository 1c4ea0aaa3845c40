"""Compare two JSON Schemas (OpenAPI 3.1) for what a client would notice, in one direction.

A request schema may only widen: a client that sent valid data yesterday must still send valid data today, so a
narrowed type, a removed enum value, a new required property or a tighter limit is breaking. A response schema may
only narrow: a client that understood every answer yesterday must understand today's, so a removed or no longer
required property, a new type or enum value, or a looser limit is breaking. Additions a client can ignore (a new
optional request property, a new response property) are listed as compatible changes, for the changelog.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

Direction = Literal["request", "response"]

# Limits where a larger value accepts more, and where a smaller one does.
UPPER_LIMITS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
LOWER_LIMITS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
ALL_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
COMPOSITIONS = ("allOf", "anyOf", "oneOf")


@dataclass(frozen=True)
class Change:
    breaking: bool
    where: str  # e.g. "POST /api/v1/users request body application/json #/email"
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


Resolver = Callable[[Any], Any]


def types_of(schema: dict[str, Any]) -> frozenset[str]:
    """The JSON types a schema allows by its `type` keyword (every type when it has none)."""
    kind = schema.get("type")
    if kind is None:
        return ALL_TYPES
    return frozenset([kind] if isinstance(kind, str) else kind)


def _fmt(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


class SchemaDiff:
    """Walks an old and a new schema side by side, each resolving its own `$ref`s, and collects the changes."""

    def __init__(self, old_resolve: Resolver, new_resolve: Resolver) -> None:
        self.old_resolve, self.new_resolve = old_resolve, new_resolve
        self.changes: list[Change] = []
        self._seen: set[tuple[int, int, Direction]] = set()  # recursive schemas (a tree of comments) end here

    def note(self, breaking: bool, where: str, what: str) -> None:
        self.changes.append(Change(breaking, where, what))

    def compare(self, old_raw: Any, new_raw: Any, direction: Direction, where: str) -> None:
        ref = new_raw.get("$ref") if isinstance(new_raw, dict) else None
        if isinstance(ref, str):
            # A shared schema is reported once, by its name, not under every operation that uses it.
            where = f"{ref.removeprefix('#/components/schemas/')} (in {direction}s)"
        old, new = self.old_resolve(old_raw), self.new_resolve(new_raw)
        if not isinstance(old, dict) or not isinstance(new, dict):
            if old != new:  # boolean schemas (true/false)
                self.note(True, where, f"schema {_fmt(old)} became {_fmt(new)}")
            return
        key = (id(old), id(new), direction)
        if key in self._seen:
            return
        self._seen.add(key)
        self._types(old, new, direction, where)
        self._enum(old, new, direction, where)
        self._limits(old, new, direction, where)
        self._keywords(old, new, direction, where)
        self._properties(old, new, direction, where)
        self._additional(old, new, direction, where)
        if "items" in old or "items" in new:
            self.compare(old.get("items", {}), new.get("items", {}), direction, f"{where}[]")
        self._compositions(old, new, direction, where)

    def _types(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        before, after = types_of(old), types_of(new)
        # An integer is a number: `number` -> `integer` narrows, `integer` -> `number` widens.
        lost = {t for t in before - after if not (t == "integer" and "number" in after)}
        gained = {t for t in after - before if not (t == "integer" and "number" in before)}
        if lost:
            self.note(direction == "request", where, f"no longer accepts type {', '.join(sorted(lost))}")
        if gained:
            self.note(direction == "response", where, f"now allows type {', '.join(sorted(gained))}")

    def _enum(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        before: Any = old.get("enum", [old["const"]] if "const" in old else None)
        after: Any = new.get("enum", [new["const"]] if "const" in new else None)
        if before == after:
            return
        if after is not None and before is None:
            self.note(direction == "request", where, f"now limited to the values {after}")
            return
        if before is not None and after is None:
            self.note(direction == "response", where, f"no longer limited to the values {before}")
            return
        removed = [v for v in before if v not in after]
        added = [v for v in after if v not in before]
        if removed:
            self.note(direction == "request", where, f"enum values removed: {', '.join(map(_fmt, removed))}")
        if added:
            self.note(direction == "response", where, f"enum values added: {', '.join(map(_fmt, added))}")

    def _limits(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        for keyword in (*UPPER_LIMITS, *LOWER_LIMITS):
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            upper = keyword in UPPER_LIMITS
            if before is None:
                tighter = True
            elif after is None:
                tighter = False
            else:
                tighter = after < before if upper else after > before
            what = f"{keyword} {_fmt(before) if before is not None else '(none)'} -> "
            what += _fmt(after) if after is not None else "(none)"
            # Tighter narrows: breaking in a request. Looser widens: breaking in a response.
            self.note(tighter == (direction == "request"), where, what)

    def _keywords(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        """`pattern`, `format`, `multipleOf`: any change may refuse what was valid (or allow what was not)."""
        for keyword in ("pattern", "format", "multipleOf"):
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            if after is None:  # dropped: wider
                self.note(direction == "response", where, f"{keyword} {_fmt(before)} removed")
            elif before is None:  # added: narrower
                self.note(direction == "request", where, f"{keyword} {_fmt(after)} added")
            else:
                self.note(True, where, f"{keyword} {_fmt(before)} -> {_fmt(after)}")

    def _properties(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        before, after = old.get("properties", {}), new.get("properties", {})
        required_before, required_after = set(old.get("required", [])), set(new.get("required", []))
        closed = new.get("additionalProperties") is False
        for name in sorted(set(before) | set(after)):
            at = f"{where}/{name}"
            if name not in after:
                # A client still sending it is refused only when the object is closed.
                breaking = direction == "response" or closed
                self.note(breaking, at, "property removed")
            elif name not in before and not (direction == "request" and name in required_after):
                self.note(False, at, "property added")  # (a new required request property is noted below)
            elif name in before:
                self.compare(before[name], after[name], direction, at)
        for name in sorted(required_after - required_before):
            if direction == "request":
                self.note(True, f"{where}/{name}", "now required")
        for name in sorted(required_before - required_after):
            if name in after and direction == "response":
                self.note(True, f"{where}/{name}", "no longer always present (not required)")
            elif name in after:
                self.note(False, f"{where}/{name}", "now optional")

    def _additional(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        before, after = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if before is False and after is not False:
            self.note(direction == "response", where, "now allows other properties")
        elif after is False and before is not False:
            self.note(direction == "request", where, "no longer allows other properties")
        elif isinstance(before, dict) and isinstance(after, dict):
            self.compare(before, after, direction, f"{where}/*")

    def _compositions(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        for keyword in COMPOSITIONS:
            before, after = old.get(keyword, []), new.get(keyword, [])
            if len(before) == len(after):
                for index, (left, right) in enumerate(zip(before, after, strict=True)):
                    self.compare(left, right, direction, f"{where}({keyword}[{index}])")
                continue
            # Which branch became which cannot be told; a new `anyOf`/`oneOf` branch widens, a removed one narrows.
            widened = len(after) > len(before)
            if keyword == "allOf":
                widened = not widened
            narrowed = not widened
            self.note(
                (direction == "request" and narrowed) or (direction == "response" and widened),
                where,
                f"{keyword} has {len(after)} schemas, had {len(before)}",
            )
