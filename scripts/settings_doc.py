"""Write (or ``--check``) README.md's settings table from the Settings class, so the docs cannot drift from code."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import SecretStr

from impl.platform.settings import ENVIRONMENT_DEFAULTS, PROJECT_ROOT, Settings

README = PROJECT_ROOT / "README.md"
START, END = "<!-- settings:start -->", "<!-- settings:end -->"


def _show(value: object) -> str:
    if isinstance(value, SecretStr):
        return "a development value (refused in staging and prod)"
    if isinstance(value, Path):
        return f"`{value.relative_to(PROJECT_ROOT) if value.is_absolute() else value}`"
    return f"`{value}`"


def render_table() -> str:
    rows = [
        "| Variable | Default | Description |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = _show(field.default)
        per_env = [f"{env}: `{values[name]}`" for env, values in ENVIRONMENT_DEFAULTS.items() if name in values]
        if per_env:
            # An environment that does not override the field gets the field's own default: show that first.
            everywhere = all(name in values for values in ENVIRONMENT_DEFAULTS.values())
            default = ", ".join(per_env if everywhere else [default, *per_env])
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| `{name.upper()}` | {default} | {description} |")
    return "\n".join(rows)


def replace_section(text: str, table: str) -> str:
    before, start, rest = text.partition(START)
    _, end, after = rest.partition(END)
    if not start or not end:
        raise ValueError(f"README.md needs the markers {START} and {END}")
    return f"{before}{START}\n{table}\n{END}{after}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true", help="fail when README.md's table is out of date")
    args = parser.parse_args(argv)
    current = README.read_text(encoding="utf-8")
    wanted = replace_section(current, render_table())
    if current == wanted:
        print("settings_doc: README.md settings table is up to date")
        return 0
    if args.check:
        print("settings_doc: README.md settings table differs from impl/platform/settings.py; run `make generate`.")
        return 1
    README.write_text(wanted, encoding="utf-8")
    print("settings_doc: wrote README.md settings table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
