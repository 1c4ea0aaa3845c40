"""`make load` / `make load-smoke` / `make load-master` / `make load-worker`: bounded, reported Locust runs.

Without ``--host`` it starts ``python -m impl`` on a free loopback port with a throw-away data directory (SQLite),
rate limiting off (``RATE_LIMIT_ENABLED=false``: the load test measures the service, not its limiter) and a
run-only admin (random password), waits for /readyz, runs Locust with bounded users and time, and stops the
service. With ``--host URL`` it starts nothing and targets that service; the admin to act as then comes from
CHARTER_LOAD_ADMIN_EMAIL / CHARTER_LOAD_ADMIN_PASSWORD.

Distributed: ``--processes N`` runs N Locust workers on this machine under one master; ``--master`` waits for
``--expect-workers`` workers started elsewhere with ``--worker HOST:PORT`` (which need only this checkout: the run
id and the admin reach them from the master). The master alone judges, on every worker's numbers.

``--seed-users N`` first bulk-inserts N users into the target's database (load/seed.py; the local service's
SQLite file, or ``--seed-database-url`` for a remote target, whose seeded rows are deleted again afterwards).

Each run writes under ``--reports/<UTC timestamp>/``: Locust's HTML report and CSVs, the SLO verdict table and a
chart of p95 against x-slo (SVG). The exit code is Locust's (1 on an SLO breach), or 1 when the local service
logged a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import subprocess  # nosec B404
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from load import seed
from scripts.live_service import ROOT, free_port, serving, tool_service_env

LOAD_ADMIN_EMAIL = "load-admin@example.com"
ADMIN_ENV = ("CHARTER_LOAD_ADMIN_EMAIL", "CHARTER_LOAD_ADMIN_PASSWORD")


def locust_command(args: argparse.Namespace, host: str) -> list[str]:
    prefix = args.reports / args.name
    command = [
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
        "--slo-chart",
        f"{prefix}-p95.svg",
        "--seeded-users",
        str(args.seed_users),
    ]
    if args.errors_only:
        command.append("--slo-errors-only")
    if args.slo_min_requests:
        command += ["--slo-min-requests", str(args.slo_min_requests)]
    if args.slo_spec:
        command += ["--slo-spec", str(args.slo_spec)]
    if args.processes:
        command += ["--processes", str(args.processes)]
    if args.master:
        command += ["--master", "--expect-workers", str(args.expect_workers)]
        command += ["--master-bind-host", args.master_bind_host, "--master-bind-port", str(args.master_bind_port)]
    return [*command, *map(str, args.journeys)]


def worker_command(args: argparse.Namespace) -> list[str]:
    """A worker of a master elsewhere: it needs no target, admin or reports (the master sends and keeps them)."""
    host, _, port = args.worker.rpartition(":")
    command = [str(Path(sys.executable).with_name("locust")), "--locustfile", str(ROOT / "load" / "locustfile.py")]
    command += ["--worker", "--master-host", host, "--master-port", port]
    return command + (["--processes", str(args.processes)] if args.processes else [])


def run_locust(args: argparse.Namespace, host: str, admin: tuple[str, str]) -> int:
    env = {**os.environ, "PYTHONPATH": str(ROOT), ADMIN_ENV[0]: admin[0], ADMIN_ENV[1]: admin[1]}
    spread = f", {args.processes} worker processes" if args.processes else ""
    spread += f", waiting for {args.expect_workers} workers" if args.master else ""
    print(f"load: {args.users} users (spawn rate {args.spawn_rate}/s{spread}) for {args.run_time} against {host}")
    sys.stdout.flush()
    run = subprocess.run(locust_command(args, host), cwd=ROOT, env=env, check=False)  # noqa: S603  # nosec B603
    print(f"load: Locust exited with {run.returncode}; reports in {args.reports}", flush=True)
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
            if args.seed_users:  # the data directory goes away with the run: no clean-up needed
                seed_database(f"sqlite+aiosqlite:///{Path(data_dir) / 'charter.db'}", args.seed_users)
            code = run_locust(args, base, (LOAD_ADMIN_EMAIL, admin_password))
    if "Traceback" in log_path.read_text(encoding="utf-8", errors="replace"):
        print(f"load: the service logged a traceback (see {log_path})", file=sys.stderr)
        return code or 1
    return code


def seed_database(database_url: str, users: int) -> None:
    seconds = asyncio.run(seed.seed(database_url, users))
    total = asyncio.run(seed.count_users(database_url))
    print(f"load: seeded {users:,} users in {seconds:.1f} s ({total:,} users in the table)", flush=True)


def run_against_remote_service(args: argparse.Namespace, admin: tuple[str, str]) -> int:
    if not args.seed_users:
        return run_locust(args, args.host.rstrip("/"), admin)
    seed_database(args.seed_database_url, args.seed_users)
    try:
        return run_locust(args, args.host.rstrip("/"), admin)
    finally:
        removed = asyncio.run(seed.remove(args.seed_database_url))
        print(f"load: deleted the {removed:,} seeded users again", flush=True)


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="", help="target this service (http[s]://...) instead of starting one")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--spawn-rate", type=float, default=10.0)
    parser.add_argument("--run-time", default="60s")
    parser.add_argument("--name", default="load", help="file name prefix of the reports")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports" / "load", help="a folder per run in it")
    parser.add_argument("--startup-timeout", type=float, default=30.0)
    parser.add_argument("--errors-only", action="store_true", help="judge error shares only (a smoke run)")
    parser.add_argument("--slo-min-requests", type=int, default=0, help="requests a p95 needs (default: load/slo.py's)")
    parser.add_argument("--slo-spec", type=Path, default=None, help="judge by this OpenAPI document's x-slo")
    parser.add_argument("--journeys", nargs="*", default=[], help="only these user classes (e.g. Visitor)")
    parser.add_argument("--processes", type=int, default=0, help="Locust worker processes on this machine")
    parser.add_argument("--master", action="store_true", help="run as master and wait for --expect-workers")
    parser.add_argument("--expect-workers", type=int, default=1)
    parser.add_argument("--master-bind-host", default="127.0.0.1", help="0.0.0.0 to take workers of other hosts")
    parser.add_argument("--master-bind-port", type=int, default=5557)
    parser.add_argument("--worker", default="", metavar="HOST:PORT", help="run as a worker of this master")
    parser.add_argument("--seed-users", type=int, default=0, help="bulk-insert this many users before the run")
    parser.add_argument("--seed-database-url", default="", help="a remote target's database, for --seed-users")
    return parser


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.worker:
        if ":" not in args.worker:
            cli.error(f"--worker needs the master's HOST:PORT, got {args.worker!r}")
        command = worker_command(args)
        return subprocess.run(command, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=False).returncode  # noqa: S603  # nosec B603
    args.reports = args.reports / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    if not args.host:
        args.reports.mkdir(parents=True, exist_ok=True)
        return run_against_local_service(args)
    if not args.host.startswith(("http://", "https://")):
        cli.error(f"--host must be an http(s) URL, got {args.host!r}")
    admin = tuple(os.environ.get(name, "") for name in ADMIN_ENV)
    if not all(admin):
        cli.error(f"a remote target needs an admin of it: set {' and '.join(ADMIN_ENV)}")
    if args.seed_users and not args.seed_database_url:
        cli.error("--seed-users against a remote target needs --seed-database-url (its DATABASE_URL)")
    args.reports.mkdir(parents=True, exist_ok=True)
    return run_against_remote_service(args, (admin[0], admin[1]))


if __name__ == "__main__":
    raise SystemExit(main())
