"""Compare two definitions of one security scheme (OpenAPI 3.1 §4.8.27) for what a client would notice.

A client gets its credential and sends it as the scheme says: a changed `type`, HTTP `scheme` (compared without
case, as RFC 9110 §11.1 has it), API key location or name, OpenID Connect discovery URL, or an OAuth2 flow's
`authorizationUrl`, `tokenUrl` or `refreshUrl` sends yesterday's client to the wrong place; a removed flow or scope
refuses what it asked for. A new flow, scope or `refreshUrl` is something a client may start using: compatible.
`description` and `bearerFormat` are hints for people and tools, not part of what a client sends.
"""

from __future__ import annotations

from typing import Any

Finding = tuple[bool, str]  # (breaking, what)

_FIELDS = ("type", "scheme", "in", "name", "openIdConnectUrl")
_FLOW_URLS = ("authorizationUrl", "tokenUrl", "refreshUrl")
_CASELESS = frozenset({"scheme"})


def _field(scheme: dict[str, Any], key: str) -> Any:
    value = scheme.get(key)
    if isinstance(value, str) and (key in _CASELESS or (key == "name" and scheme.get("in") == "header")):
        return value.lower()
    return value


def scheme_changes(old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    """The client-visible changes from `old` to `new`, each with whether it breaks a client."""
    if _field(old, "type") != _field(new, "type"):
        return [(True, f"type {old.get('type')!r} -> {new.get('type')!r}")]
    found: list[Finding] = [
        (True, f"{key} {old.get(key)!r} -> {new.get(key)!r}")
        for key in _FIELDS[1:]
        if _field(old, key) != _field(new, key)
    ]
    old_flows, new_flows = old.get("flows", {}), new.get("flows", {})
    found += [(True, f"flow {flow} removed") for flow in sorted(set(old_flows) - set(new_flows))]
    found += [(False, f"flow {flow} added") for flow in sorted(set(new_flows) - set(old_flows))]
    for flow in sorted(set(old_flows) & set(new_flows)):
        found += _flow_changes(flow, old_flows[flow], new_flows[flow])
    return found


def _flow_changes(flow: str, old: dict[str, Any], new: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    for key in _FLOW_URLS:
        before, after = old.get(key), new.get(key)
        if before != after:
            # Only a URL a client could already use can send it astray; a new `refreshUrl` is an offer.
            found.append((before is not None, f"flow {flow} {key} {before!r} -> {after!r}"))
    old_scopes, new_scopes = set(old.get("scopes", {})), set(new.get("scopes", {}))
    if old_scopes - new_scopes:
        found.append((True, f"flow {flow} scopes removed: {', '.join(sorted(old_scopes - new_scopes))}"))
    if new_scopes - old_scopes:
        found.append((False, f"flow {flow} scopes added: {', '.join(sorted(new_scopes - old_scopes))}"))
    return found
