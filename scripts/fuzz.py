"""`make fuzz`: run Schemathesis against the real service, started here on a free loopback port.

Starts uvicorn (``python -m impl``) with a throw-away data directory, waits for /readyz, runs ``st run`` with every
check and every phase (configuration in schemathesis.toml), writes JUnit and HAR reports under reports/fuzz/, stops
the server, and fails when Schemathesis fails, the server logged a traceback, or an operation never got a 2xx.

The run is authenticated: the server bootstraps a fuzz-only admin (ADMIN_EMAIL / ADMIN_PASSWORD, a fresh random
password per run), and tests/schemathesis_hooks.py signs in as it through the real login operation, reading the
credentials from CHARTER_FUZZ_EMAIL / CHARTER_FUZZ_PASSWORD. Rate limiting is off for this server: the fuzzer is one
client calling every operation thousands of times; limits are tested in tests/owasp/ and tests/impl/auth/.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess  # nosec B404
import sys
import tempfile
from pathlib import Path

from scripts.live_service import ROOT, free_port, serving, tool_service_env

PHASES = "examples,coverage,fuzzing,stateful"
FUZZ_ADMIN_EMAIL = "fuzz-admin@example.com"


def operation_reach(spec_path: Path, har_path: Path) -> dict[str, dict[int, int]]:
    """For each spec operation (``METHOD /path``), how many responses of each status the run received."""
    import yaml

    spec = yaml.safe_load(spec_path.read_text(encoding="utf-8"))
    templates = []
    for path, item in spec["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
        templates += [
            (method.upper(), pattern, f"{method.upper()} {path}") for method in item if method != "parameters"
        ]
    # A literal path wins over a template that also matches it (/users/export is not /users/{user_id}).
    templates.sort(key=lambda template: template[2].count("{"))
    reach: dict[str, dict[int, int]] = {label: {} for _, _, label in templates}
    for entry in json.loads(har_path.read_text(encoding="utf-8"))["log"]["entries"]:
        method = entry["request"]["method"]
        path = re.sub(r"^https?://[^/]+", "", entry["request"]["url"]).split("?", 1)[0]
        status = int(entry["response"]["status"])
        for candidate, pattern, label in templates:
            if candidate == method and pattern.match(path):
                reach[label][status] = reach[label].get(status, 0) + 1
                break
    return reach


def report_reach(reach: dict[str, dict[int, int]]) -> list[str]:
    """Print the per-operation statuses; return the operations never answered with a 2xx."""
    print("\nfuzz: responses per operation (a 2xx for each proves it was really exercised):")
    unreached = []
    for label in sorted(reach):
        statuses = reach[label]
        ok = sum(count for status, count in statuses.items() if 200 <= status < 300)
        listed = ", ".join(f"{status}×{count}" for status, count in sorted(statuses.items()))
        print(f"  {'ok ' if ok else 'NO '} {label:<40} {listed}")
        if not ok:
            unreached.append(label)
    return unreached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--reports", type=Path, default=ROOT / "reports" / "fuzz")
    parser.add_argument("--startup-timeout", type=float, default=30.0)
    parser.add_argument("st_args", nargs="*", help="extra arguments for `st run` (after --)")
    args = parser.parse_args(argv)
    args.reports.mkdir(parents=True, exist_ok=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="charter-fuzz-") as data_dir:
        admin_password = secrets.token_urlsafe(24)  # random and long: passes the password rules, never reused
        env = tool_service_env(
            port=port, data_dir=data_dir, admin_email=FUZZ_ADMIN_EMAIL, admin_password=admin_password
        )
        st_env = {**os.environ, "CHARTER_FUZZ_EMAIL": FUZZ_ADMIN_EMAIL, "CHARTER_FUZZ_PASSWORD": admin_password}
        log_path = args.reports / "server.log"
        serve = [sys.executable, "-m", "impl"]
        with serving(serve, env=env, log_path=log_path, ready_url=f"{base}/readyz", timeout=args.startup_timeout):
            print(f"fuzz: service ready at {base}; running Schemathesis", flush=True)
            command = [
                str(Path(sys.executable).with_name("st")),
                "run",
                f"{base}/openapi.json",
                # Checks and their per-operation settings come from schemathesis.toml (all enabled there); a
                # `--checks` option here would override the operations' own exceptions.
                "--phases",
                PHASES,
                "--report",
                "junit,har",
                "--report-dir",
                str(args.reports),
                *args.st_args,
            ]
            run = subprocess.run(command, cwd=ROOT, env=st_env, check=False)  # noqa: S603  # nosec B603
            code = run.returncode
    server_log = log_path.read_text(encoding="utf-8", errors="replace")
    if "Traceback" in server_log:
        print(f"fuzz: the server logged a traceback (see {log_path})", file=sys.stderr)
        return code or 1
    hars = sorted(args.reports.glob("har-*.json"), key=lambda path: path.stat().st_mtime)
    if not hars:
        print("fuzz: Schemathesis wrote no HAR report; cannot tell which operations were reached", file=sys.stderr)
        return code or 1
    unreached = report_reach(operation_reach(ROOT / "spec" / "openapi.yaml", hars[-1]))
    if unreached:
        print(f"fuzz: never answered with a 2xx: {', '.join(unreached)}", file=sys.stderr)
        return code or 1
    print(f"fuzz: Schemathesis exited with {code}; reports in {args.reports}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
