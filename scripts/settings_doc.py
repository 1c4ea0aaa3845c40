"""Write (or ``--check``) the settings reference in docs/settings.md from the Settings class, so the docs cannot
drift from the code.

The reference is one table per concern (database, Redis, tokens, ...), in the class's order within each. A default
that differs by ``APP_ENV`` is written once per value with the environments that get it, and a long description
one sentence per line, so no cell runs on for a screen.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from impl.platform.settings import ENVIRONMENT_DEFAULTS, PROJECT_ROOT, Settings

REFERENCE = PROJECT_ROOT / "docs" / "settings.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"
# (heading, name prefixes); a field matching none lands in the first group, so a new setting is never left out.
GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Service", ("app_env", "host", "port", "workers", "data_dir", "spec_path", "max_body", "readiness", "docs_")),
    ("Database", ("database_", "db_")),
    ("Redis and cache", ("redis_", "cache_")),
    ("Tokens, passwords and the first admin", ("secret_key", "jwt_", "access_token", "refresh_token", "admin_")),
    ("Password hashing", ("password_hash",)),
    ("Rate limits, proxies and CORS", ("rate_limit", "trusted_proxies", "cors_")),
    ("Real time, streaming, files and worker pools", ("event_", "max_upload", "sse_", "ws_", "cpu_pool")),
    ("Logs, metrics and time budgets", ("log_", "access_log", "metrics_", "request_timeout", "shutdown")),
    ("Tracing", ("tracing_", "otlp_", "service_name")),
)
LONG_CELL = 120  # characters past which a description is written one sentence per line
_SENTENCE_END = re.compile(r"(?<=[.)])\s+(?=[A-Z])")


def _show(value: object) -> str:
    if value is None:
        return "unset"
    if isinstance(value, SecretStr):
        return "a development value (refused in staging and prod)"
    if isinstance(value, Path):
        return f"`{value.relative_to(PROJECT_ROOT) if value.is_absolute() else value}`"
    return f"`{value}`"


def _field_default(field: FieldInfo) -> object:
    if field.default_factory is not None:
        return field.default_factory()  # type: ignore[call-arg]
    return field.default


def render_default(name: str, field: FieldInfo) -> str:
    """The field's default; per APP_ENV when it differs by environment, as ``value: env, env`` lines."""
    own = _field_default(field)
    by_env = {env: values.get(name, own) for env, values in ENVIRONMENT_DEFAULTS.items()}
    if all(name not in values for values in ENVIRONMENT_DEFAULTS.values()):
        return _show(own)
    groups: dict[str, list[str]] = {}
    for env, value in by_env.items():
        groups.setdefault(_show(value), []).append(env)
    return "<br>".join(f"{shown}: {', '.join(envs)}" for shown, envs in groups.items())


def render_description(field: FieldInfo) -> str:
    description = (field.description or "").replace("|", "\\|")
    if len(description) <= LONG_CELL:
        return description
    return "<br>".join(_SENTENCE_END.split(description))


def grouped_fields() -> Iterator[tuple[str, list[str]]]:
    """Each group's heading and its fields' names, in the class's order; empty groups left out."""
    members: dict[str, list[str]] = {heading: [] for heading, _ in GROUPS}
    for name in Settings.model_fields:
        heading = next((h for h, prefixes in GROUPS if name.startswith(prefixes)), GROUPS[0][0])
        members[heading].append(name)
    yield from ((heading, names) for heading, names in members.items() if names)


def render_table() -> str:
    blocks = []
    for heading, names in grouped_fields():
        rows = [f"### {heading}", "", "| Variable | Default | Description |", "|---|---|---|"]
        for name in names:
            field = Settings.model_fields[name]
            rows.append(f"| `{name.upper()}` | {render_default(name, field)} | {render_description(field)} |")
        blocks.append("\n".join(rows))
    return "\n\n".join(blocks)


def replace_section(text: str, table: str) -> str:
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise ValueError(f"{REFERENCE.name} needs the markers {START} and {END}")
    return f"{before}{START}\n{table}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="fail when the settings reference is out of date")
    args = parser.parse_args(argv)
    shown = REFERENCE.relative_to(PROJECT_ROOT) if REFERENCE.is_relative_to(PROJECT_ROOT) else REFERENCE
    current = REFERENCE.read_text(encoding="utf-8")
    wanted = replace_section(current, render_table())
    if current == wanted:
        print(f"settings_doc: {shown} is up to date")
        return 0
    if args.check:
        print(f"settings_doc: {shown} differs from impl/platform/settings.py; run `make generate`.")
        return 1
    REFERENCE.write_text(wanted, encoding="utf-8")
    print(f"settings_doc: wrote {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
