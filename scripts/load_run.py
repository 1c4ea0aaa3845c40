"""`make load` / `make load-smoke`: run load/locustfile.py headless, by default against a freshly started service.

Without ``--host`` it starts ``python -m impl`` on a free loopback port with a throw-away data directory (SQLite),
rate limiting off (``RATE_LIMIT_ENABLED=false``: the load test measures the service, not its limiter) and a
run-only admin (random password), waits for /readyz, runs Locust with bounded users and time, and stops the
service. With ``--host URL`` it starts nothing and targets that service; the admin to act as then comes from
CHARTER_LOAD_ADMIN_EMAIL / CHARTER_LOAD_ADMIN_PASSWORD. Locust writes CSV and HTML reports and the SLO verdict
table under ``--reports``; the exit code is Locust's (1 on an SLO breach), or 1 when the local service logged a
traceback.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess  # nosec B404
import sys
import tempfile
from pathlib import Path

from scripts.live_service import ROOT, free_port, serving, tool_service_env

LOAD_ADMIN_EMAIL = "load-admin@example.com"
ADMIN_ENV = ("CHARTER_LOAD_ADMIN_EMAIL", "CHARTER_LOAD_ADMIN_PASSWORD")


def locust_command(args: argparse.Namespace, host: str) -> list[str]:
    prefix = args.reports / args.name
    return [
        str(Path(sys.executable).with_name("locust")),
        "--locustfile",
        str(ROOT / "load" / "locustfile.py"),
        "--headless",
        "--only-summary",
        "--host",
        host,
        "--users",
        str(args.users),
        "--spawn-rate",
        str(args.spawn_rate),
        "--run-time",
        args.run_time,
        "--csv",
        str(prefix),
        "--html",
        f"{prefix}.html",
        "--slo-report",
        f"{prefix}-slo.txt",
    ]


def run_locust(args: argparse.Namespace, host: str, admin: tuple[str, str]) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT), ADMIN_ENV[0]: admin[0], ADMIN_ENV[1]: admin[1]}
    print(f"load: {args.users} users (spawn rate {args.spawn_rate}/s) for {args.run_time} against {host}", flush=True)
    run = subprocess.run(locust_command(args, host), cwd=ROOT, env=env, check=False)  # noqa: S603  # nosec B603
    print(f"load: Locust exited with {run.returncode}; reports in {args.reports} ({args.name}*)", flush=True)
    return run.returncode


def run_against_local_service(args: argparse.Namespace) -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    admin_password = secrets.token_urlsafe(24)  # random and long: passes the password rules, never reused
    with tempfile.TemporaryDirectory(prefix="charter-load-") as data_dir:
        env = tool_service_env(
            port=port, data_dir=data_dir, admin_email=LOAD_ADMIN_EMAIL, admin_password=admin_password
        )
        log_path = args.reports / f"{args.name}-server.log"
        serve = [sys.executable, "-m", "impl"]
        with serving(serve, env=env, log_path=log_path, ready_url=f"{base}/readyz", timeout=args.startup_timeout):
            print(f"load: service ready at {base} (SQLite in {data_dir}, rate limits off)", flush=True)
            code = run_locust(args, base, (LOAD_ADMIN_EMAIL, admin_password))
    if "Traceback" in log_path.read_text(encoding="utf-8", errors="replace"):
        print(f"load: the service logged a traceback (see {log_path})", file=sys.stderr)
        return code or 1
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="", help="target this service (http[s]://...) instead of starting one")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--run-time", default="60s")
    parser.add_argument("--name", default="load", help="file name prefix of the reports")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports" / "load")
    parser.add_argument("--startup-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    args.reports.mkdir(parents=True, exist_ok=True)
    if not args.host:
        return run_against_local_service(args)
    if not args.host.startswith(("http://", "https://")):
        parser.error(f"--host must be an http(s) URL, got {args.host!r}")
    admin = tuple(os.environ.get(name, "") for name in ADMIN_ENV)
    if not all(admin):
        parser.error(f"a remote target needs an admin of it: set {' and '.join(ADMIN_ENV)}")
    return run_locust(args, args.host.rstrip("/"), (admin[0], admin[1]))


if __name__ == "__main__":
    raise SystemExit(main())
