"""`make test-ts`: type-check the generated TypeScript client and its tests, then run them against real servers.

1. generated/typescript/ must be what the spec produces now (else: run `make generate`), so the TypeScript below
   is compiled against the current contract and a spec change that breaks the client fails here.
2. tsc compiles the generated client, unchanged, in three front-end set-ups (tests/typescript/profiles/: a Vite
   app, a Node ESM app, a CommonJS app), each a scratch project under var/typescript/<profile>/ laid out like this
   repository: the profile's package.json and tsconfig.json, a copy of generated/typescript/*.ts and of
   tests/typescript/*.ts. A type error, including a misuse in misuse.ts that stopped being an error, fails the run.
3. The service (``python -m impl``: SQLite in a throw-away data directory, a bootstrap admin with a random password,
   the spec's rate limits) and Prism (as ``make mock`` runs it) start on free loopback ports.
4. ``node --test`` runs the ``*.test.js`` files compiled by the Node ESM profile: the journey against the service,
   the same client against the mock. The run fails when a test fails or the service logged a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess  # nosec B404
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import yaml

from scripts.generate_typescript import generate_typescript
from scripts.live_service import free_port, serving, tool_service_env
from scripts.mock import SPEC, prism_command

ROOT = Path(__file__).resolve().parent.parent
GENERATED = ROOT / "generated" / "typescript"
TESTS = ROOT / "tests" / "typescript"
PROFILES = TESTS / "profiles"
# The profile whose output node runs; the others are compiled only (noEmit), as their set-ups would bundle it.
RUN_PROFILE = "node-esm"
TSC = ROOT / "node_modules" / "typescript" / "bin" / "tsc"
ADMIN_EMAIL = "ts-admin@example.com"
# OWASP's Argon2id floor (as the pytest suite uses): the journey signs in several times, and the service's default
# profile would only make it slower, not more telling. Cost parameters, not passwords.
FAST_HASHING = {
    "PASSWORD_HASH_MEMORY_KIB": "19456",  # nosec B105
    "PASSWORD_HASH_ITERATIONS": "2",  # nosec B105
    "PASSWORD_HASH_PARALLELISM": "1",  # nosec B105
}


def stale_files(spec: Path, generated: Path) -> list[str]:
    """The files of ``generated`` that differ from what ``spec`` produces now (missing ones included)."""
    # Inside the project: the package's tsc step resolves openapi-fetch from its node_modules/.
    with tempfile.TemporaryDirectory(dir=ROOT, prefix=".check-generated-ts-") as scratch:
        fresh = Path(scratch)
        generate_typescript(spec, fresh)
        stale = []
        for path in sorted(fresh.rglob("*")):
            name = path.relative_to(fresh)
            committed = generated / name
            if path.is_file() and not (committed.is_file() and committed.read_bytes() == path.read_bytes()):
                stale.append(name.as_posix())
        return stale


def node() -> str:
    found = shutil.which("node")
    if found is None or not TSC.is_file():
        raise SystemExit("test-ts: needs node and node_modules; run `make install`")
    return found


def profile_names() -> list[str]:
    return sorted(path.parent.name for path in PROFILES.glob("*/tsconfig.json"))


def prepare_profile(profile: str, out: Path, generated: Path = GENERATED) -> Path:
    """A scratch project for ``profile`` under ``out``: what a frontend has after copying the generated folder in.

    Laid out like this repository (generated/typescript/, tests/typescript/) so the tests' relative imports hold;
    ``out`` must lie inside the project for node and tsc to find its node_modules/ by walking up.
    """
    project = out / profile
    shutil.rmtree(project, ignore_errors=True)  # no compiled test of a deleted source is ever run
    shutil.copytree(PROFILES / profile, project)
    copies = {generated: project / "generated" / "typescript", TESTS: project / "tests" / "typescript"}
    for source, target in copies.items():
        target.mkdir(parents=True)
        for path in source.glob("*.ts"):
            shutil.copy(path, target / path.name)
    return project


def compile_profile(profile: str, out: Path, generated: Path = GENERATED) -> subprocess.CompletedProcess[str]:
    """tsc over the scratch project of ``profile``; tsc's exit code and its report (tsc writes errors to stdout)."""
    project = prepare_profile(profile, out, generated)
    command = [node(), str(TSC), "--project", str(project), "--pretty", "false"]
    return subprocess.run(command, cwd=project, capture_output=True, text=True, check=False)  # noqa: S603  # nosec B603


def compile_tests(out: Path) -> int:
    """Compile every profile (one tsc run each); 0 when all of them type-check."""
    failed = []
    for profile in profile_names():
        result = compile_profile(profile, out)
        print(result.stdout, end="", flush=True)
        print(result.stderr, end="", file=sys.stderr, flush=True)
        print(f"test-ts: {profile}: tsc exited with {result.returncode}", flush=True)
        if result.returncode != 0:
            failed.append(profile)
    return 1 if failed else 0


def websocket_flag() -> list[str]:
    """Node's flag for its global WebSocket (the chat helper's default) where it is still experimental (Node 20)."""
    probe = [node(), "--print", "typeof WebSocket"]
    answer = subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()  # noqa: S603  # nosec B603
    return [] if answer == "function" else ["--experimental-websocket"]


def run_tests(out: Path, env: dict[str, str]) -> int:
    compiled = out / RUN_PROFILE / "dist" / "tests" / "typescript"
    tests = sorted(str(path) for path in compiled.glob("*.test.js"))
    if not tests:
        print(f"test-ts: no compiled tests in {compiled}", file=sys.stderr)
        return 1
    # One file at a time, in name order: the journey spends the `auth` rate limit of this address, which nothing
    # else may share, so the one sign-in of events-and-chat.test.js comes before it.
    command = [node(), *websocket_flag(), "--test", "--test-concurrency=1", "--test-timeout=120000", *tests]
    return subprocess.run(command, cwd=out / RUN_PROFILE, env=env, check=False).returncode  # noqa: S603  # nosec B603


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--out", type=Path, default=ROOT / "var" / "typescript")
    parser.add_argument("--startup-timeout", type=float, default=60.0)
    args = parser.parse_args(argv)

    stale = stale_files(SPEC, GENERATED)
    if stale:
        print(f"test-ts: generated/typescript/ is stale ({', '.join(stale)}); run `make generate`", file=sys.stderr)
        return 1
    if compile_tests(args.out) != 0:
        print("test-ts: the TypeScript does not type-check (see tsc's errors above)", file=sys.stderr)
        return 1
    print(f"test-ts: the client compiles in every profile ({', '.join(profile_names())}) under {args.out}", flush=True)
    spec_json = args.out / "openapi.json"
    spec_json.write_text(json.dumps(yaml.safe_load(SPEC.read_text(encoding="utf-8"))), encoding="utf-8")

    try:
        code = _run_against_servers(out=args.out, spec_json=spec_json, startup_timeout=args.startup_timeout)
    except RuntimeError as error:  # a server that exited or never answered; its log says why
        print(f"test-ts: {error}; see prism.log and service.log in {args.out}", file=sys.stderr)
        return 1
    service_log = args.out / "service.log"
    if "Traceback" in service_log.read_text(encoding="utf-8", errors="replace"):
        print(f"test-ts: the service logged a traceback (see {service_log})", file=sys.stderr)
        return code or 1
    print(f"test-ts: node --test exited with {code}; logs in {args.out}")
    return code


def _run_against_servers(*, out: Path, spec_json: Path, startup_timeout: float) -> int:
    """Start Prism and the service, run the compiled tests against them, stop both; node's exit code."""
    service_port, mock_port = free_port(), free_port()
    admin_password = secrets.token_urlsafe(24)  # random and long: passes the password rules, never reused
    with tempfile.TemporaryDirectory(prefix="charter-ts-") as data_dir, ExitStack() as stack:
        # The spec's own rate limits stay on: the journey handles a 429 through the typed error union.
        service_env = tool_service_env(
            port=service_port,
            data_dir=data_dir,
            admin_email=ADMIN_EMAIL,
            admin_password=admin_password,
            rate_limits=True,
        )
        service_env |= FAST_HASHING
        service_env["SSE_TICK_SECONDS"] = "0.5"  # the events test waits for a tick to know its stream is open
        base_url, mock_url = f"http://127.0.0.1:{service_port}", f"http://127.0.0.1:{mock_port}"
        prism = prism_command(port=mock_port)
        stack.enter_context(
            serving(prism, env=os.environ, log_path=out / "prism.log", ready_url=f"{mock_url}/livez", timeout=60)
        )
        stack.enter_context(
            serving(
                [sys.executable, "-m", "impl"],
                env=service_env,
                log_path=out / "service.log",
                ready_url=f"{base_url}/readyz",
                timeout=startup_timeout,
            )
        )
        print(f"test-ts: service at {base_url}, Prism mock at {mock_url}; running node --test", flush=True)
        test_env = {**os.environ, "CHARTER_BASE_URL": base_url, "CHARTER_MOCK_URL": mock_url}
        test_env |= {"CHARTER_ADMIN_EMAIL": ADMIN_EMAIL, "CHARTER_ADMIN_PASSWORD": admin_password}
        test_env |= {"CHARTER_OPENAPI_JSON": str(spec_json)}
        return run_tests(out, test_env)


if __name__ == "__main__":
    raise SystemExit(main())
