"""Write generated/ from spec/openapi.yaml, or check (``--check``) that generated/ is exactly what the spec produces.

generated/models.py comes from datamodel-code-generator (options in pyproject.toml's [tool.datamodel-codegen]),
generated/api/ from scripts/generate_api.py, generated/typescript/ (types and typed client for frontends) from
scripts/generate_typescript.py. The check regenerates into a temporary folder inside the project (so
the same pyproject.toml drives the formatters) and fails with a unified diff when anything differs.
"""

from __future__ import annotations

import argparse
import difflib
import subprocess  # nosec B404
import sys
import tempfile
from pathlib import Path

from scripts.generate_api import HEADER, SpecError, generate
from scripts.generate_messages import generate_messages
from scripts.generate_typescript import generate_typescript

ROOT = Path(__file__).resolve().parent.parent
INIT = HEADER + '"""Code generated from spec/openapi.yaml: Pydantic models and typed route stubs."""\n'


MODEL_BASE_TEMPLATE = Path(__file__).with_name("templates") / "model_base.py"


def generate_all(spec: Path, out: Path, package: str = "generated", *, typescript: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    # The models' base class (pyproject's `base-class`): JSON Schema integers, see the template's docstring.
    (out / "_model_base.py").write_text(HEADER + MODEL_BASE_TEMPLATE.read_text(encoding="utf-8"), encoding="utf-8")
    codegen = Path(sys.executable).with_name("datamodel-codegen")
    subprocess.run(  # noqa: S603  # nosec B603
        [str(codegen), "--input", str(spec), "--output", str(out / "models.py")], check=True, cwd=ROOT
    )
    (out / "__init__.py").write_text(INIT, encoding="utf-8")
    generate(spec, out / "api", package)
    # The message models of the AsyncAPI document beside the OpenAPI one (chat frames and events).
    asyncapi = spec.with_name("asyncapi.yaml")
    if asyncapi.is_file():
        generate_messages(asyncapi, out / "messages.py")
    # The frontend kit: TypeScript types and the typed client (generated/typescript/). Opt-in, so the generator's
    # own tests on fixture specs, which are about the Python output, do not pay for a node start each.
    if typescript:
        generate_typescript(spec, out / "typescript")


def tree(root: Path) -> dict[str, str]:
    return {
        path.relative_to(root).as_posix(): path.read_text(encoding="utf-8")
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def diff_trees(expected: dict[str, str], actual: dict[str, str]) -> list[str]:
    lines: list[str] = []
    for name in sorted(expected.keys() | actual.keys()):
        want, have = expected.get(name, ""), actual.get(name, "")
        if want != have:
            lines += difflib.unified_diff(
                have.splitlines(keepends=True),
                want.splitlines(keepends=True),
                fromfile=f"generated/{name} (committed)" if name in actual else "/dev/null",
                tofile=f"generated/{name} (from the spec)" if name in expected else "/dev/null",
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate or check generated/ from the spec.")
    parser.add_argument("--spec", type=Path, default=ROOT / "spec" / "openapi.yaml")
    parser.add_argument("--out", type=Path, default=ROOT / "generated")
    parser.add_argument("--check", action="store_true", help="fail with a diff when --out differs from the spec")
    args = parser.parse_args(argv)
    try:
        if not args.check:
            generate_all(args.spec.resolve(), args.out.resolve(), typescript=True)
            print(f"generate: {args.out} is up to date with {args.spec}")
            return 0
        with tempfile.TemporaryDirectory(dir=ROOT, prefix=".check-generated-") as scratch:
            fresh = Path(scratch) / "generated"
            generate_all(args.spec.resolve(), fresh, typescript=True)
            lines = diff_trees(tree(fresh), tree(args.out.resolve()) if args.out.exists() else {})
    except SpecError as error:
        print(f"generate: {error}", file=sys.stderr)
        return 1
    if lines:
        sys.stdout.writelines(lines)
        print(f"\ncheck-generated: {args.out} differs from what {args.spec} produces; run `make generate`.")
        return 1
    print(f"check-generated: {args.out} matches {args.spec}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
