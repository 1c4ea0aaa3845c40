"""Compare two JSON Schemas (OpenAPI 3.1) for what a client would notice, in one direction.

A request schema may only widen: a client that sent valid data yesterday must still send valid data today, so a
narrowed type, a removed enum value, a new required property, a tighter limit (`maxLength`, `multipleOf`,
`uniqueItems`, `prefixItems`, `contains`, `maxContains`, `dependentRequired`), a new `not`, `if`/`then`/`else` or
`discriminator`, or a property made `readOnly` is breaking; so is a changed or removed `default` (a client that
leaves the value out gets another result). A response schema may only narrow: a client that understood every answer
yesterday must understand today's, so a removed or no longer required property, one made `writeOnly`, a new type,
enum value or discriminator mapping, or a looser limit is breaking. Additions a client can ignore (a new optional
request property, a new response property) are listed as compatible changes, for the changelog.

Changes are reported where a client meets them: a shared schema's change is listed under every operation, request
or response side, that reaches it (the keywords: JSON Schema 2020-12, https://json-schema.org/draft/2020-12).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal

Direction = Literal["request", "response"]

# Limits where a larger value accepts more, and where a smaller one does.
UPPER_LIMITS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
LOWER_LIMITS = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
ALL_TYPES = frozenset({"string", "number", "integer", "boolean", "array", "object", "null"})
COMPOSITIONS = ("allOf", "anyOf", "oneOf")
# Inside `not`, a wider subschema excludes more: the whole narrows.
OPPOSITE: dict[Direction, Direction] = {"request": "response", "response": "request"}
_ABSENT = object()


@dataclass(frozen=True)
class Change:
    breaking: bool
    where: str  # the operation first, then where in it: "POST /api/v1/users request body application/json #/email"
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"

    @property
    def operation(self) -> str:
        """`METHOD /path`: every change is reported under the operation a client calls."""
        return " ".join(self.where.split(" ", 2)[:2])

    @property
    def location(self) -> str:
        """Where in the operation (`query parameter limit`, `response 200 ...`); empty for the operation itself."""
        parts = self.where.split(" ", 2)
        return parts[2] if len(parts) > 2 else ""


Resolver = Callable[[Any], Any]


def types_of(schema: dict[str, Any]) -> frozenset[str]:
    """The JSON types a schema allows by its `type` keyword (every type when it has none)."""
    kind = schema.get("type")
    if kind is None:
        return ALL_TYPES
    return frozenset([kind] if isinstance(kind, str) else kind)


def _fmt(value: Any) -> str:
    if value is _ABSENT:
        return "(none)"
    return repr(value) if isinstance(value, str) else str(value)


class SchemaDiff:
    """Walks an old and a new schema side by side, each resolving its own `$ref`s, and collects the changes."""

    def __init__(self, old_resolve: Resolver, new_resolve: Resolver) -> None:
        self.old_resolve, self.new_resolve = old_resolve, new_resolve
        self.changes: list[Change] = []
        # The pairs being compared right now: a recursive schema (a tree of comments) ends where it comes round.
        self._open: set[tuple[int, int, Direction]] = set()

    def note(self, breaking: bool, where: str, what: str) -> None:
        self.changes.append(Change(breaking, where, what))

    def compare(self, old_raw: Any, new_raw: Any, direction: Direction, where: str) -> None:
        old, new = _resolved(old_raw, self.old_resolve), _resolved(new_raw, self.new_resolve)
        if not isinstance(old, dict) or not isinstance(new, dict):
            if old != new:  # boolean schemas (true/false)
                self.note(True, where, f"schema {_fmt(old)} became {_fmt(new)}")
            return
        key = (id(old_raw), id(new_raw), direction)
        if key in self._open:
            return
        self._open.add(key)
        try:
            self._compare(old, new, direction, where)
        finally:
            self._open.discard(key)

    def differs(self, old_raw: Any, new_raw: Any) -> bool:
        """Whether two schemas accept different values (prose aside), each read in its own document."""
        probe = SchemaDiff(self.old_resolve, self.new_resolve)
        probe.compare(old_raw, new_raw, "request", "")
        return bool(probe.changes)

    def _compare(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        self._types(old, new, direction, where)
        self._enum(old, new, direction, where)
        self._limits(old, new, direction, where)
        self._keywords(old, new, direction, where)
        self._multiple_of(old, new, direction, where)
        self._access(old, new, direction, where)
        self._default(old, new, direction, where)
        self._properties(old, new, direction, where)
        self._dependencies(old, new, direction, where)
        self._additional(old, new, direction, where)
        if "items" in old or "items" in new:
            self.compare(old.get("items", {}), new.get("items", {}), direction, f"{where}[]")
        self._arrays(old, new, direction, where)
        self._compositions(old, new, direction, where)
        self._discriminator(old, new, direction, where)
        self._negation(old, new, direction, where)
        self._conditional(old, new, direction, where)

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
        """`pattern`, `format`: any change may refuse what was valid (or allow what was not)."""
        for keyword in ("pattern", "format"):
            before, after = old.get(keyword), new.get(keyword)
            if before == after:
                continue
            if after is None:  # dropped: wider
                self.note(direction == "response", where, f"{keyword} {_fmt(before)} removed")
            elif before is None:  # added: narrower
                self.note(direction == "request", where, f"{keyword} {_fmt(after)} added")
            else:
                self.note(True, where, f"{keyword} {_fmt(before)} -> {_fmt(after)}")

    def _multiple_of(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        before, after = old.get("multipleOf"), new.get("multipleOf")
        if before == after:
            return
        if before is None or after is None:
            tighter = before is None
            what = f"multipleOf {_fmt(after)} added" if tighter else f"multipleOf {_fmt(before)} removed"
        else:
            what = f"multipleOf {_fmt(before)} -> {_fmt(after)}"
            ratio = Fraction(str(after)) / Fraction(str(before))
            if ratio.denominator != 1 and ratio.numerator != 1:  # neither divides the other: both ways
                self.note(True, where, what)
                return
            tighter = ratio.denominator == 1  # every multiple of the new step is a multiple of the old one
        self.note(tighter == (direction == "request"), where, what)

    def _access(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        """`readOnly` matters to what a client sends, `writeOnly` to what it reads back."""
        if direction == "request" and bool(old.get("readOnly")) != bool(new.get("readOnly")):
            if new.get("readOnly"):
                self.note(True, where, "now read-only (clients may no longer send it)")
            else:
                self.note(False, where, "no longer read-only")
        if direction == "response" and bool(old.get("writeOnly")) != bool(new.get("writeOnly")):
            if new.get("writeOnly"):
                self.note(True, where, "now write-only (no longer returned)")
            else:
                self.note(False, where, "no longer write-only (now returned)")

    def _default(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        before, after = old.get("default", _ABSENT), new.get("default", _ABSENT)
        if before == after:
            return
        what = f"default {_fmt(before)} -> {_fmt(after)}"
        # A request's default is what the server assumes when the client leaves the value out; documenting one
        # that was not promised takes nothing away. A response's default is only an annotation.
        breaking = direction == "request" and before is not _ABSENT
        self.note(breaking, where, what + (" (clients that leave it out get other results)" if breaking else ""))

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

    def _dependencies(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        """`dependentRequired`: a property that needs more others present narrows what is valid."""
        before, after = old.get("dependentRequired", {}), new.get("dependentRequired", {})
        for name in sorted(set(before) | set(after)):
            needs_before, needs_after = set(before.get(name, [])), set(after.get(name, []))
            if needs_after - needs_before:
                what = f"dependentRequired {name} now needs {', '.join(sorted(needs_after - needs_before))}"
                self.note(direction == "request", where, what)
            if needs_before - needs_after:
                what = f"dependentRequired {name} no longer needs {', '.join(sorted(needs_before - needs_after))}"
                self.note(direction == "response", where, what)

    def _additional(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        before, after = old.get("additionalProperties", True), new.get("additionalProperties", True)
        if before is False and after is not False:
            self.note(direction == "response", where, "now allows other properties")
        elif after is False and before is not False:
            self.note(direction == "request", where, "no longer allows other properties")
        elif isinstance(before, dict) and isinstance(after, dict):
            self.compare(before, after, direction, f"{where}/*")

    def _arrays(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        before, after = bool(old.get("uniqueItems")), bool(new.get("uniqueItems"))
        if before != after:  # true refuses duplicates: tighter
            what = f"uniqueItems {str(before).lower()} -> {str(after).lower()}"
            self.note(after == (direction == "request"), where, what)
        if "contains" in old and "contains" in new:
            self.compare(old["contains"], new["contains"], direction, f"{where}(contains)")
        elif "contains" in new:
            self.note(direction == "request", where, "contains added (an element must match it)")
        elif "contains" in old:
            self.note(direction == "response", where, "contains removed (no element need match it)")
        old_prefix, new_prefix = old.get("prefixItems", []), new.get("prefixItems", [])
        for index, (left, right) in enumerate(zip(old_prefix, new_prefix, strict=False)):
            self.compare(left, right, direction, f"{where}[{index}]")
        if len(old_prefix) != len(new_prefix):
            tighter = len(new_prefix) > len(old_prefix)  # each new position constrains one more element
            what = f"prefixItems now constrain {len(new_prefix)} position(s), was {len(old_prefix)}"
            self.note(tighter == (direction == "request"), where, what)

    def _discriminator(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        """Clients pick the schema to read or write by the discriminating property's value (OpenAPI 3.1 §4.8.25)."""
        before, after = old.get("discriminator"), new.get("discriminator")
        if before is None or after is None:
            if before is not None:
                self.note(direction == "response", where, f"discriminator {before.get('propertyName')} removed")
            elif after is not None:
                self.note(direction == "request", where, f"discriminator {after.get('propertyName')} added")
            return
        name = after.get("propertyName")
        if before.get("propertyName") != name:
            self.note(True, where, f"discriminator property {_fmt(before.get('propertyName'))} -> {_fmt(name)}")
            return
        old_map, new_map = before.get("mapping", {}), after.get("mapping", {})
        removed, added = sorted(set(old_map) - set(new_map)), sorted(set(new_map) - set(old_map))
        moved = sorted(value for value in set(old_map) & set(new_map) if old_map[value] != new_map[value])
        if removed:
            self.note(direction == "request", where, f"discriminator {name} mapping removed: {', '.join(removed)}")
        if added:
            self.note(direction == "response", where, f"discriminator {name} mapping added: {', '.join(added)}")
        if moved:
            self.note(True, where, f"discriminator {name} mapping changed: {', '.join(moved)}")

    def _negation(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        if "not" in old and "not" in new:
            self.compare(old["not"], new["not"], OPPOSITE[direction], f"{where}(not)")
        elif "not" in new:
            self.note(direction == "request", where, "not added (values matching it are refused)")
        elif "not" in old:
            self.note(direction == "response", where, "not removed (values matching it are allowed)")

    def _conditional(self, old: dict[str, Any], new: dict[str, Any], direction: Direction, where: str) -> None:
        if "if" not in old and "if" not in new:
            return
        if "if" not in old:
            self.note(direction == "request", where, "if/then/else added (a condition now constrains the value)")
        elif "if" not in new:
            self.note(direction == "response", where, "if/then/else removed (no condition constrains the value)")
        elif self.differs(old["if"], new["if"]):
            self.note(True, where, "if changed (the condition picks other values)")
        else:
            for branch in ("then", "else"):
                if branch in old or branch in new:
                    self.compare(old.get(branch, {}), new.get(branch, {}), direction, f"{where}({branch})")

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


def _resolved(raw: Any, resolve: Resolver) -> Any:
    """The schema `raw` points to, with the keywords written beside its `$ref` (allowed in 3.1) applied on top."""
    target = resolve(raw)
    if isinstance(raw, dict) and "$ref" in raw and len(raw) > 1 and isinstance(target, dict):
        return {**target, **{key: value for key, value in raw.items() if key != "$ref"}}
    return target
