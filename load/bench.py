"""`make bench`: the service side by side with a bare FastAPI app and a raw ASGI app, as ratios, with its memory.

Each app is served by one uvicorn worker (uvloop, httptools) pinned to CPU 0 and driven by wrk pinned to CPU 1.
Apps start one at a time and rounds interleave (raw, baseline, service, raw, ...); the table holds medians, and
ratios to the baseline's GET /health, because absolute rates drift between runs on a shared machine while ratios
measured side by side hold. The service is production-configured (load/bench_service.py) and seeded with 100
users. Each measurement is preceded by an unmeasured warm-up. The table goes to reports/bench/ as JSON, with its
chart (load/bench_chart.py) beside it; a full run (not --smoke, not --only) also writes the chart the docs' performance
page shows, docs/assets/bench.svg.

Usage: python -m load.bench [--rounds 3 --seconds 10]   (--smoke: 1 round of 2 s; --soak 300: the memory soak)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from load.bench_chart import write_chart
from load.bench_service import PAGE, Service, create_users_script, running_service, soak_script
from load.rss import MB, sampling, status_bytes, trend, wait_until_idle
from load.wrk import Summary, WrkResult, pinned_server, raise_open_files_limit, run_wrk, summarise, uvicorn_argv
from scripts.live_service import ROOT, free_port

REPORTS = ROOT / "reports" / "bench"
DOCS_CHART = ROOT / "docs" / "assets" / "bench.svg"
HEALTH_TARGET = 0.70  # full-stack GET /health ÷ the baseline's
USER_READ_TARGET = 0.35  # authenticated GET /api/v1/users/{id} ÷ the baseline's GET /health
RSS_TARGET_MB = 150
FLAT_MB = 5.0  # a soak is flat when its last minute is within this of its first (after the warm-up)
MANY_CONNECTIONS = 1000
PER_REQUEST_SETTINGS = ("ACCESS_LOG", "LOG_LEVEL", "LOG_FORMAT", "PASSWORD_HASH_MEMORY_KIB", "CACHE_TTL_SECONDS")


@dataclass(frozen=True, slots=True)
class Measurement:
    name: str  # the table's row
    app: str  # which app serves it
    path: str
    connections: int = 64
    authenticated: bool = False
    creates_users: bool = False
    min_seconds: float = 0  # a floor under --seconds (and the warm-up) for slow requests


RAW = Measurement("raw ASGI GET /health (ceiling)", "raw", "/health")
BASELINE = Measurement("bare FastAPI GET /health (baseline)", "baseline", "/health")
HEALTH = Measurement("service GET /health", "service", "/health")
USER = Measurement(
    "service GET /api/v1/users/{id} (authenticated)", "service", "/api/v1/users/{id}", authenticated=True
)
PAGE_OF_USERS = Measurement(
    f"service GET /api/v1/users?limit={PAGE}", "service", f"/api/v1/users?limit={PAGE}", authenticated=True
)
MANY = Measurement(f"service GET /health, {MANY_CONNECTIONS} connections", "service", "/health", MANY_CONNECTIONS)
# Last, and with two connections: each request hashes a password (Argon2id, 64 MiB, on the one server core), so
# more connections add only queueing (and 64 MiB each in flight), and hashes still queued when wrk stops would
# run on into the next measurement.
CREATE = Measurement(
    "service POST /api/v1/users (Argon2id)", "service", "/api/v1/users", 2, creates_users=True, min_seconds=5
)
RATIO_TARGETS = {HEALTH.name: HEALTH_TARGET, USER.name: USER_READ_TARGET}  # drawn as ticks on the chart
MEASUREMENTS = (RAW, BASELINE, HEALTH, USER, PAGE_OF_USERS, MANY, CREATE)
# Short names for --only (a quicker look at one path while working on it); the baseline always runs.
KEYS = {"raw": RAW, "health": HEALTH, "user": USER, "page": PAGE_OF_USERS, "many": MANY, "create": CREATE}
FACTORIES = {"raw": "load.baseline_app:raw_asgi_app", "baseline": "load.baseline_app:fastapi_app"}


def server_env() -> dict[str, str]:
    """Bytecode cached as in the production image (which compiles it at build time), under var/ (git-ignored)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(ROOT / "var" / "bench-pycache")
    return env


@contextmanager
def running_app(app: str, *, run_dir: Path) -> Iterator[tuple[int, str, Service | None]]:
    """(pid, base URL, the service's handles or None) of a freshly started app."""
    if app == "service":
        with running_service(run_dir=run_dir, base_env=server_env()) as service:
            yield service.process.pid, service.url, service
        return
    port = free_port()
    with (
        (run_dir / f"{app}-{port}.log").open("ab") as log,
        pinned_server(
            uvicorn_argv(FACTORIES[app], port=port, python=sys.executable),
            ready_url=f"http://127.0.0.1:{port}/health",
            env=server_env(),
            log=log,
        ) as process,
    ):
        yield process.pid, f"http://127.0.0.1:{port}", None


def measure(m: Measurement, *, url: str, service: Service | None, run_dir: Path, seconds: float) -> WrkResult:
    headers: list[str] = []
    script = None
    path = m.path
    if service is not None:
        path = path.replace("{id}", service.user_id)
        if m.authenticated:
            headers.append(f"Authorization: Bearer {service.token}")
        if m.creates_users:
            # A fresh script (fresh email prefix) per run: the warm-up's users must not collide with the run's.
            script = create_users_script(run_dir / f"create-{time.monotonic_ns()}.lua", token=service.token)
    seconds = max(seconds, m.min_seconds)
    return run_wrk(f"{url}{path}", seconds=seconds, connections=m.connections, script=script, headers=headers)


def run_rounds(
    *, rounds: int, seconds: float, warmup: float, run_dir: Path, measurements: tuple[Measurement, ...] = MEASUREMENTS
) -> tuple[dict[str, Summary], dict[str, Any]]:
    results: dict[str, list[WrkResult]] = {m.name: [] for m in measurements}
    peak_rss: dict[str, int] = {m.name: 0 for m in measurements}
    peak_since_start: dict[str, int] = {}
    apps = [app for app in ("raw", "baseline", "service") if any(m.app == app for m in measurements)]
    for round_number in range(1, rounds + 1):
        for app in apps:
            with running_app(app, run_dir=run_dir) as (pid, url, service):
                for m in (m for m in measurements if m.app == app):
                    measure(m, url=url, service=service, run_dir=run_dir, seconds=warmup)
                    wait_until_idle(pid)  # requests the warm-up left behind (queued hashes) finish first
                    with sampling(pid, every_seconds=0.25) as rss:
                        result = measure(m, url=url, service=service, run_dir=run_dir, seconds=seconds)
                    results[m.name].append(result)
                    peak_rss[m.name] = max(peak_rss[m.name], rss.peak)
                    print(f"round {round_number}: {m.name}: {result.requests_per_second:,.0f} req/s", flush=True)
                peak_since_start[app] = max(peak_since_start.get(app, 0), status_bytes(pid, "VmHWM"))
    return {name: summarise(runs) for name, runs in results.items()}, {
        "peak_rss_mb_under_load": {name: round(b / MB, 1) for name, b in peak_rss.items()},
        "peak_rss_mb_since_start": {app: round(b / MB, 1) for app, b in peak_since_start.items()},
        "runs": {name: [asdict(r) for r in runs] for name, runs in results.items()},
    }


def verdicts(table: dict[str, Summary], memory: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """(target, met, measured) for each target (docs/performance.md) whose measurement ran."""
    base = table[BASELINE.name]
    checks: list[tuple[str, bool, str]] = []
    if HEALTH.name in table:
        health = table[HEALTH.name].ratio_to(base)
        checks.append(
            (f"full-stack GET /health >= {HEALTH_TARGET} x baseline", health >= HEALTH_TARGET, f"{health:.3f}")
        )
    if USER.name in table:
        user = table[USER.name].ratio_to(base)
        target = f"authenticated GET /users/{{id}} >= {USER_READ_TARGET} x baseline"
        checks.append((target, user >= USER_READ_TARGET, f"{user:.3f}"))
    if MANY.name in table:
        many = table[MANY.name]
        measured = f"{many.socket_errors} socket errors, {many.non_2xx} non-2xx"
        checks.append((f"no socket errors with {MANY_CONNECTIONS} connections", many.socket_errors == 0, measured))
    # Under read load: POST /users is reported, not judged: each Argon2id hash in flight holds its 64 MiB.
    reads = [name for name in table if name in memory["peak_rss_mb_under_load"] and _is_service_read(name)]
    if reads:
        rss = max(memory["peak_rss_mb_under_load"][name] for name in reads)
        checks.append((f"service RSS under read load < {RSS_TARGET_MB} MB", rss < RSS_TARGET_MB, f"{rss} MB peak"))
    return checks


def _is_service_read(name: str) -> bool:
    return any(m.name == name and m.app == "service" and not m.creates_users for m in MEASUREMENTS)


def print_table(table: dict[str, Summary], memory: dict[str, Any]) -> None:
    base = table[BASELINE.name]
    header = f"{'req/s':>9} {'ratio':>6} {'p50 ms':>8} {'p99 ms':>8} {'RSS MB':>7} {'errors':>6} {'wrk CPU':>7}"
    print(f"\n{'measurement':<58} {header}")
    for name, s in table.items():
        rss = memory["peak_rss_mb_under_load"][name]
        errors = s.socket_errors + s.non_2xx
        row = f"{s.requests_per_second:>9,.0f} {s.ratio_to(base):>6.3f} {s.p50_ms:>8.2f} {s.p99_ms:>8.2f}"
        print(f"{name:<58} {row} {rss:>7.1f} {errors:>6} {s.load_cpu_share:>7.2f}")
    print(f"peak RSS since start (includes start-up's one Argon2id hash): {memory['peak_rss_mb_since_start']}")


def write_report(kind: str, report: dict[str, Any]) -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = REPORTS / f"{kind}-{stamp}.json"
    text = json.dumps(report, indent=2)
    path.write_text(text, encoding="utf-8")
    (REPORTS / f"{kind}-latest.json").write_text(text, encoding="utf-8")
    return path


def chart_paths(report: Path, *, smoke: bool, only: list[str]) -> list[Path]:
    """The report's own chart beside it, and the docs' chart for a full run only: a smoke run's 2 s rounds or a
    subset would replace the published picture with a partial or meaningless one."""
    return [report.with_suffix(".svg")] + ([] if smoke or only else [DOCS_CHART])


def bench(args: argparse.Namespace, run_dir: Path) -> int:
    measurements: tuple[Measurement, ...] = MEASUREMENTS
    if args.only:
        chosen = {KEYS[key] for key in args.only}
        measurements = tuple(m for m in MEASUREMENTS if m is BASELINE or m in chosen)
    table, memory = run_rounds(
        rounds=args.rounds, seconds=args.seconds, warmup=args.warmup, run_dir=run_dir, measurements=measurements
    )
    print_table(table, memory)
    checks = verdicts(table, memory)
    for target, met, measured in checks:
        # A smoke run's 2 s rounds are too short to judge a ratio, and its exit code does not: no PASS or FAIL.
        verdict = ("met" if met else "missed") if args.smoke else ("PASS" if met else "FAIL")
        print(f"{verdict}  {target}: {measured}")
    if args.smoke:
        print("smoke: targets are not judged in 2 s runs (make bench judges them); socket errors and failures are")
    base = table[BASELINE.name]
    path = write_report(
        "smoke" if args.smoke else "bench",
        {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "rounds": args.rounds,
            "only": args.only,  # empty: every measurement ran
            "seconds": args.seconds,
            "load_generator": "wrk (1 thread, CPU 1); servers on CPU 0",
            # Other work on the machine makes absolute rates drift; ratios measured side by side are what count.
            "load_average_after": os.getloadavg(),
            # Settings that change what a request costs, when this run overrode them (e.g. ACCESS_LOG=false).
            "service_overrides": {k: os.environ[k] for k in PER_REQUEST_SETTINGS if k in os.environ},
            "table": {name: {**asdict(s), "ratio_to_baseline": s.ratio_to(base)} for name, s in table.items()},
            "targets": [{"target": t, "met": met, "measured": v} for t, met, v in checks],
            **memory,
        },
    )
    print(f"report: {path.relative_to(ROOT)}")
    for chart in chart_paths(path, smoke=args.smoke, only=args.only):
        write_chart(chart, json.loads(path.read_text(encoding="utf-8")), ceiling=RAW.name, targets=RATIO_TARGETS)
        print(f"chart: {chart.relative_to(ROOT)}")
    # Socket errors or failed requests mean the run measured something broken: always a failure. A missed target
    # fails the full run only; the smoke run's few seconds are too short to judge ratios.
    broken = any(s.socket_errors or s.non_2xx or not s.requests for s in table.values())
    return 1 if broken or (not args.smoke and not all(met for _, met, _ in checks)) else 0


def soak(args: argparse.Namespace, run_dir: Path) -> int:
    """The service under a steady mix of reads for ``--soak`` seconds, its RSS sampled every few seconds."""
    warmup = min(30.0, args.soak / 5)
    with running_service(run_dir=run_dir, base_env=server_env()) as service:
        script = soak_script(run_dir / "soak.lua", token=service.token, user_id=service.user_id)
        with sampling(service.process.pid, every_seconds=args.sample_every) as rss:
            result = run_wrk(service.url + "/", seconds=args.soak, connections=64, script=script)
    shape = trend(rss.samples, warmup_seconds=warmup)
    flat = shape.last_minute_mb - shape.first_minute_mb <= FLAT_MB
    under = shape.peak_mb < RSS_TARGET_MB
    print(f"soak {args.soak:g} s: {result.requests_per_second:,.0f} req/s, p99 {result.p99_ms:.1f} ms, {result}")
    print(f"RSS after {warmup:g} s warm-up: {shape}")
    print(f"{'PASS' if under else 'FAIL'}  RSS under load < {RSS_TARGET_MB} MB: peak {shape.peak_mb} MB")
    print(f"{'PASS' if flat else 'FAIL'}  RSS flat (last minute - first minute <= {FLAT_MB} MB): ", end="")
    print(f"{shape.last_minute_mb - shape.first_minute_mb:+.2f} MB, slope {shape.slope_mb_per_minute} MB/min")
    path = write_report(
        "soak",
        {
            "when": datetime.now(UTC).isoformat(timespec="seconds"),
            "seconds": args.soak,
            "wrk": asdict(result),
            "trend": asdict(shape),
            "flat": flat,
            "under_target": under,
            "samples_mb": [(t, round(b / MB, 2)) for t, b in rss.samples],
        },
    )
    print(f"report: {path.relative_to(ROOT)}")
    return 0 if flat and under and result.clean else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--warmup", type=float, default=2, help="unmeasured seconds before each measurement")
    parser.add_argument("--smoke", action="store_true", help="1 round of 2 s runs; fails only on errors")
    parser.add_argument("--soak", type=float, default=0, help="instead: soak the service this many seconds")
    parser.add_argument(
        "--only",
        type=lambda text: [key.strip() for key in text.split(",") if key.strip()],
        default=[],
        help=f"comma-separated subset of {','.join(KEYS)} (the baseline always runs); targets judged only for these",
    )
    parser.add_argument("--sample-every", type=float, default=5, help="soak: seconds between RSS samples")
    args = parser.parse_args(argv)
    unknown = [key for key in args.only if key not in KEYS]
    if unknown:
        parser.error(f"--only: unknown {', '.join(unknown)} (choose from {', '.join(KEYS)})")
    if args.smoke:
        args.rounds, args.seconds, args.warmup = 1, 2, 1
    raise_open_files_limit()
    job: Callable[[argparse.Namespace, Path], int] = soak if args.soak else bench
    with tempfile.TemporaryDirectory(prefix="charter-bench-") as run_dir:
        return job(args, Path(run_dir))


if __name__ == "__main__":
    raise SystemExit(main())
