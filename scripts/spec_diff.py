"""The contract changes between two OpenAPI documents, each marked breaking or compatible for a client.

Breaking: a removed operation, parameter, request media type, response status, response media type or required
response header; a response header no longer required, or its schema widened; a new required parameter or request
body; a parameter serialised differently (`style`, `explode`); a changed operationId, security requirement (schemes
or scopes) or security scheme the operation uses (scripts/security_diff.py); a role taken out of `x-roles`; and the
schema changes scripts/schema_diff.py judges breaking (a request may only widen, a response only narrow).
Compatible: additions a client can ignore, deprecations. Prose (summaries, descriptions, examples) and the other
`x-` extensions are not part of the contract a client codes against, and are not compared. Every change is reported
under the operation a client calls.
"""

from __future__ import annotations

import re
from typing import Any

from scripts.schema_diff import Change, SchemaDiff
from scripts.security_diff import scheme_changes
from scripts.spec_deprecation import deprecation_dates
from scripts.spec_reader import HTTP_METHODS, SpecReader

Operation = tuple[str, str, dict[str, Any], dict[str, Any]]  # (method, path, operation, path item)


def _template(path: str) -> str:
    """Path parameters renamed (`{id}` -> `{user_id}`) is the same URL to a client."""
    return re.sub(r"\{[^/}]+\}", "{}", path)


def operations(spec: dict[str, Any]) -> dict[tuple[str, str], Operation]:
    found = {}
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                found[(method.upper(), _template(path))] = (method.upper(), path, item[method], item)
    return found


# Where a parameter's `style` and `explode` are left out (OpenAPI 3.1 §4.8.12.4).
_DEFAULT_STYLE = {"query": "form", "cookie": "form", "path": "simple", "header": "simple"}


def _requirements(spec: dict[str, Any], operation: dict[str, Any]) -> list[dict[str, list[str]]]:
    requirements: list[dict[str, list[str]]] = operation.get("security", spec.get("security", []))
    return requirements


def _security(spec: dict[str, Any], operation: dict[str, Any]) -> list[str]:
    def scheme(name: str, scopes: list[str]) -> str:
        return f"{name}[{', '.join(sorted(scopes))}]" if scopes else name

    requirements = _requirements(spec, operation)
    spelled = (" + ".join(sorted(scheme(name, scopes) for name, scopes in req.items())) for req in requirements)
    return sorted(text or "(none)" for text in spelled) or ["(public)"]


def _serialisation(parameter: dict[str, Any]) -> str:
    style = parameter.get("style", _DEFAULT_STYLE.get(parameter["in"], "form"))
    explode = parameter.get("explode", style == "form")
    return f"style {style}, explode {str(bool(explode)).lower()}"


def _removed(operation: dict[str, Any]) -> str:
    try:
        dates = deprecation_dates(operation)
    except ValueError:  # scripts/spec_removals.py says what is wrong with it
        dates = None
    if dates is None:
        return "operation removed"
    deprecated_at, sunset = dates
    return f"operation removed (deprecated since {deprecated_at.date()}, sunset {sunset.date()})"


class SpecDiff:
    def __init__(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        self.old, self.new = old, new
        self.old_resolve, self.new_resolve = SpecReader(old).resolve, SpecReader(new).resolve
        self.schemas = SchemaDiff(self.old_resolve, self.new_resolve)
        self.changes: list[Change] = []

    def note(self, breaking: bool, where: str, what: str) -> None:
        self.changes.append(Change(breaking, where, what))

    def run(self) -> list[Change]:
        before, after = operations(self.old), operations(self.new)
        for key in sorted(set(before) - set(after)):
            self.note(True, f"{key[0]} {before[key][1]}", _removed(before[key][2]))
        for key in sorted(set(after) - set(before)):
            self.note(False, f"{key[0]} {after[key][1]}", "operation added")
        for key in sorted(set(before) & set(after)):
            self.operation(before[key], after[key])
        return self.changes + self.schemas.changes

    def operation(self, old_op: Operation, new_op: Operation) -> None:
        method, path, old, new = new_op[0], new_op[1], old_op[2], new_op[2]
        where = f"{method} {path}"
        if old.get("operationId") != new.get("operationId"):
            what = f"operationId {old.get('operationId')!r} -> {new.get('operationId')!r} (generated clients use it)"
            self.note(True, where, what)
        if bool(old.get("deprecated")) != bool(new.get("deprecated")):
            self.note(False, where, "deprecated" if new.get("deprecated") else "no longer deprecated")
        old_security, new_security = _security(self.old, old), _security(self.new, new)
        if old_security != new_security:
            self.note(True, where, f"security {' | '.join(old_security)} -> {' | '.join(new_security)}")
        self.security_schemes(old, new, where)
        old_roles, new_roles = set(old.get("x-roles", [])), set(new.get("x-roles", []))
        if old_roles - new_roles:
            self.note(True, where, f"roles no longer allowed: {', '.join(sorted(old_roles - new_roles))}")
        if new_roles - old_roles:
            self.note(False, where, f"roles now allowed: {', '.join(sorted(new_roles - old_roles))}")
        self.parameters(old_op, new_op, where)
        self.request_body(old, new, where)
        self.responses(old.get("responses", {}), new.get("responses", {}), where)

    def security_schemes(self, old_op: dict[str, Any], new_op: dict[str, Any], where: str) -> None:
        """A scheme the operation still uses, changed under the same name, is reported under the operation."""
        used_before = {name for requirement in _requirements(self.old, old_op) for name in requirement}
        used_after = {name for requirement in _requirements(self.new, new_op) for name in requirement}
        old_schemes = self.old.get("components", {}).get("securitySchemes", {})
        new_schemes = self.new.get("components", {}).get("securitySchemes", {})
        for name in sorted(used_before & used_after):
            old, new = self.old_resolve(old_schemes.get(name, {})), self.new_resolve(new_schemes.get(name, {}))
            for breaking, what in scheme_changes(old, new):
                self.note(breaking, f"{where} security scheme {name}", what)

    def _parameters(self, resolve: Any, op: Operation) -> dict[tuple[str, str], dict[str, Any]]:
        """Parameters by where they go: header names ignore case, path parameters are matched by position."""
        template = re.findall(r"\{([^/}]+)\}", op[1])
        found = {}
        for raw in [*op[3].get("parameters", []), *op[2].get("parameters", [])]:
            parameter = resolve(raw)
            name, location = parameter["name"], parameter["in"]
            if location == "header":
                name = name.lower()
            elif location == "path" and name in template:
                name = f"#{template.index(name)}"
            found[(location, name)] = parameter
        return found

    def parameters(self, old_op: Operation, new_op: Operation, where: str) -> None:
        before, after = self._parameters(self.old_resolve, old_op), self._parameters(self.new_resolve, new_op)
        for key in sorted(set(before) | set(after)):
            at = f"{where} {key[0]} parameter {after.get(key, before.get(key, {})).get('name', key[1])}"
            old, new = before.get(key), after.get(key)
            if new is None:
                self.note(True, at, "removed")
            elif old is None:
                self.note(bool(new.get("required")), at, "added" + (" (required)" if new.get("required") else ""))
            else:
                if new.get("required") and not old.get("required"):
                    self.note(True, at, "now required")
                elif old.get("required") and not new.get("required"):
                    self.note(False, at, "now optional")
                if _serialisation(old) != _serialisation(new):
                    self.note(True, at, f"serialised as {_serialisation(new)} (was {_serialisation(old)})")
                self.schemas.compare(old.get("schema", {}), new.get("schema", {}), "request", at)

    def request_body(self, old_op: dict[str, Any], new_op: dict[str, Any], where: str) -> None:
        old, new = self.old_resolve(old_op.get("requestBody")), self.new_resolve(new_op.get("requestBody"))
        at = f"{where} request body"
        if old is None and new is None:
            return
        if old is None:
            self.note(bool(new.get("required")), at, "added" + (" (required)" if new.get("required") else ""))
            return
        if new is None:
            self.note(True, at, "removed")
            return
        if new.get("required") and not old.get("required"):
            self.note(True, at, "now required")
        self.content(old.get("content", {}), new.get("content", {}), "request", at)

    def content(self, old: dict[str, Any], new: dict[str, Any], direction: Any, where: str) -> None:
        for media_type in sorted(set(old) - set(new)):
            self.note(True, f"{where} {media_type}", "media type removed")
        for media_type in sorted(set(new) - set(old)):
            self.note(False, f"{where} {media_type}", "media type added")
        for media_type in sorted(set(old) & set(new)):
            old_schema, new_schema = old[media_type].get("schema", {}), new[media_type].get("schema", {})
            self.schemas.compare(old_schema, new_schema, direction, f"{where} {media_type} #")

    def responses(self, old: dict[str, Any], new: dict[str, Any], where: str) -> None:
        for status in sorted(set(old) - set(new)):
            self.note(True, f"{where} response {status}", "status removed")
        for status in sorted(set(new) - set(old)):
            self.note(False, f"{where} response {status}", "status added")
        for status in sorted(set(old) & set(new)):
            at = f"{where} response {status}"
            before, after = self.old_resolve(old[status]), self.new_resolve(new[status])
            old_headers = {name.lower(): self.old_resolve(h) for name, h in before.get("headers", {}).items()}
            new_headers = {name.lower(): self.new_resolve(h) for name, h in after.get("headers", {}).items()}
            for name in sorted(set(old_headers) - set(new_headers)):
                self.note(bool(old_headers[name].get("required")), f"{at} header {name}", "removed")
            for name in sorted(set(new_headers) - set(old_headers)):
                self.note(False, f"{at} header {name}", "added")
            for name in sorted(set(old_headers) & set(new_headers)):
                self.response_header(old_headers[name], new_headers[name], f"{at} header {name}")
            self.content(before.get("content", {}), after.get("content", {}), "response", at)

    def response_header(self, old: dict[str, Any], new: dict[str, Any], where: str) -> None:
        if old.get("required") and not new.get("required"):
            self.note(True, where, "no longer always sent (not required)")
        elif new.get("required") and not old.get("required"):
            self.note(False, where, "now always sent (required)")
        self.schemas.compare(old.get("schema", {}), new.get("schema", {}), "response", where)


def diff(old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Every contract change from `old` to `new`, breaking ones first, each once."""
    unique = dict.fromkeys(SpecDiff(old, new).run())
    return sorted(unique, key=lambda change: not change.breaking)
