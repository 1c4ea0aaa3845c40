"""`make check-breaking`: fail when spec/openapi.yaml breaks the last released contract without a major version bump.

The last released contract is the newest `spec/released/openapi-<version>.yaml` (written by `make release`). The
diff (scripts/spec_diff.py) lists every contract change, breaking or compatible. Breaking changes pass only when
`info.version` bumps the major version, with semver's rule for 0.x: below 1.0.0 the minor version is the major one
(0.1.x -> 0.2.0 may break; 0.1.0 -> 0.1.1 may not), since semver lets 0.x change anything and a minor bump is how
0.x libraries and clients (npm's caret ranges, Cargo) expect breaking changes to arrive. From 1.0.0 on, only a
major bump (1.x -> 2.0.0) allows them.

An operation may be removed only once deprecated past its sunset in the released contract, and with the major
bump (scripts/spec_removals.py); the spec's Deprecation section says how to deprecate one.

The check also fails when spec/CHANGELOG.md's "Unreleased" section is not what the diff says (`make changelog`
rewrites it), so every contract change reaches the changelog. `make release` copies the spec to spec/released/
under its version and turns "Unreleased" into that version's heading.

No maintained diff tool installs here and reads OpenAPI 3.1: npm `openapi-diff` 0.24.1 refuses 3.1 documents,
`@pb33f/openapi-changes` downloads a binary at install, `@useoptic/optic` crashes at start-up, and oasdiff (the
most thorough) is a Go program, on neither PyPI nor npm (npm's `oasdiff` is an empty placeholder), that would bring
a Go toolchain into a Python project's CI; hence this focused checker, with its own corpus of breaking and
compatible pairs in tests/scripts/fixtures/breaking/.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from scripts import api_changelog
from scripts.schema_diff import Change
from scripts.spec_diff import diff, operations
from scripts.spec_removals import premature_removals

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "spec" / "openapi.yaml"
RELEASED_DIR = ROOT / "spec" / "released"
CHANGELOG = ROOT / "spec" / "CHANGELOG.md"
_VERSION = re.compile(r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$")
_RELEASED_NAME = re.compile(r"^openapi-(?P<version>.+)\.yaml$")

Version = tuple[int, int, int]


class ReleaseError(Exception):
    """The spec or the released contracts are not in a state this command can work with; the message says why."""


def parse_version(text: str) -> Version:
    match = _VERSION.match(str(text))
    if match is None:
        raise ReleaseError(f"info.version {text!r} is not a plain semantic version (MAJOR.MINOR.PATCH)")
    major, minor, patch = (int(part) for part in match.groups())
    return major, minor, patch


def breaking_allowed(released: Version, current: Version) -> bool:
    """Whether `current` bumps the major version of `released` (for 0.x, the minor version counts as major)."""
    if released[0] == 0:
        return current[0] > 0 or current[1] > released[1]
    return current[0] > released[0]


def newest_released(directory: Path) -> tuple[str, Path] | None:
    found = []
    for path in directory.glob("openapi-*.yaml"):
        match = _RELEASED_NAME.match(path.name)
        if match:
            found.append((parse_version(match["version"]), match["version"], path))
    if not found:
        return None
    _, version, path = max(found)
    return version, path


def load(path: Path) -> dict[str, Any]:
    # libyaml's loader when built in: the spec is large, and the pure-Python loader takes about a second.
    text = path.read_text(encoding="utf-8")
    loaded: dict[str, Any] = (
        yaml.load(text, Loader=yaml.CSafeLoader) if hasattr(yaml, "CSafeLoader") else yaml.safe_load(text)
    )
    return loaded


def report(changes: list[Change]) -> None:
    for change in changes:
        print(f"  {'BREAKING ' if change.breaking else 'compatible'} {change}")


def check(spec_path: Path, released_dir: Path, changelog: Path, now: datetime | None = None) -> int:
    spec = load(spec_path)
    version = str(spec["info"]["version"])
    current = parse_version(version)
    last = newest_released(released_dir)
    if last is None:
        print(f"check-breaking: nothing released yet in {released_dir}; `make release` releases {version}")
        changes: list[Change] = []
        released_version = None
    else:
        released_version, released_path = last
        if current < parse_version(released_version):
            print(f"check-breaking: info.version {version} is older than the released {released_version}")
            return 1
        released_spec = load(released_path)
        changes = diff(released_spec, spec)
        print(f"check-breaking: {spec_path.name} {version} against the released {released_version}:")
        if changes:
            report(changes)
        else:
            print("  no contract changes")
        premature = premature_removals(released_spec, spec, now=now or datetime.now(UTC))
        if premature:
            print("check-breaking: operations removed before their deprecation ran its course:")
            print("\n".join(f"  {line}" for line in premature))
            print(
                "check-breaking: deprecate it first (`deprecated: true` with `x-deprecated-at` and `x-sunset`, see "
                "the spec's Deprecation section), release that, and remove it after its sunset with a major bump."
            )
            return 1
        breaking = [change for change in changes if change.breaking]
        if breaking and not breaking_allowed(parse_version(released_version), current):
            print(
                f"check-breaking: {len(breaking)} breaking change(s) need a major version bump of info.version "
                f"(released {released_version}, now {version}; below 1.0.0 the minor counts as major). Make the "
                "change compatible instead (a new optional field, a new operation, deprecate the old one) if you can."
            )
            return 1
    expected = api_changelog.unreleased_body(changes, released_version)
    if api_changelog.current_unreleased(changelog.read_text(encoding="utf-8")) != expected:
        print(f"check-breaking: the Unreleased section of {changelog.name} is out of date; run `make changelog`")
        return 1
    print(f"check-breaking: OK ({len(changes)} change(s), the changelog lists them)")
    return 0


def write_changelog(spec_path: Path, released_dir: Path, changelog: Path) -> int:
    spec = load(spec_path)
    last = newest_released(released_dir)
    changes = diff(load(last[1]), spec) if last else []
    body = api_changelog.unreleased_body(changes, last[0] if last else None)
    changelog.write_text(api_changelog.with_unreleased(changelog.read_text(encoding="utf-8"), body), encoding="utf-8")
    print(f"changelog: wrote the Unreleased section of {changelog} ({len(changes)} change(s))")
    return 0


def release(spec_path: Path, released_dir: Path, changelog: Path) -> int:
    if check(spec_path, released_dir, changelog) != 0:
        return 1
    spec = load(spec_path)
    version = str(spec["info"]["version"])
    last = newest_released(released_dir)
    if last is not None and parse_version(version) <= parse_version(last[0]):
        print(f"release: {version} is already released; bump info.version first")
        return 1
    if last is None:
        notes = f"The first released contract: {len(operations(spec))} operations.\n"
    else:
        notes = api_changelog.unreleased_body(diff(load(last[1]), spec), last[0])
    target = released_dir / f"openapi-{version}.yaml"
    released_dir.mkdir(parents=True, exist_ok=True)
    target.write_bytes(spec_path.read_bytes())
    today = datetime.now(UTC).date().isoformat()
    text = api_changelog.released(changelog.read_text(encoding="utf-8"), version=version, date=today, notes=notes)
    changelog.write_text(text, encoding="utf-8")
    print(f"release: {spec_path.name} {version} released as {target}; {changelog.name} updated")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--changelog", action="store_true", help="rewrite the changelog's Unreleased section")
    action.add_argument("--release", action="store_true", help="release the spec under its info.version")
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--released-dir", type=Path, default=RELEASED_DIR)
    parser.add_argument("--changelog-file", type=Path, default=CHANGELOG)
    args = parser.parse_args(argv)
    command = write_changelog if args.changelog else release if args.release else check
    try:
        return command(args.spec, args.released_dir, args.changelog_file)
    except ReleaseError as error:
        print(f"check-breaking: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
