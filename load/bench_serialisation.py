"""Which JSON path is fastest on this FastAPI? Each app on one uvicorn worker pinned to CPU 0, wrk on CPU 1.

Runs are interleaved (A B C A B C ...) and medians reported, as ratios to the typed path, because absolute rates
drift between runs on shared machines. Usage: python -m load.bench_serialisation [--rounds 3 --seconds 5]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess  # nosec B404 - starts our own server and wrk, loopback only
import sys
from pathlib import Path

from scripts.fuzz import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
VARIANTS = ("typed", "untyped", "json_response")


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise SystemExit(
            f"bench_serialisation needs {name} (Debian package: {'util-linux' if name == 'taskset' else name})"
        )
    return path


def run_once(variant: str, seconds: int) -> float:
    port = free_port()
    server = subprocess.Popen(  # noqa: S603  # nosec B603
        [
            tool("taskset"),
            "-c",
            "0",
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"load.serialisation_apps:{variant}",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
    )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/health", server, 20)
        out = subprocess.run(  # noqa: S603  # nosec B603
            [
                tool("taskset"),
                "-c",
                "1",
                tool("wrk"),
                "-t1",
                "-c64",
                f"-d{seconds}s",
                f"http://127.0.0.1:{port}/health",
            ],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        server.terminate()
        server.wait(timeout=10)
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None or "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk run of {variant} was not clean:\n{out}")
    return float(match.group(1))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=5)
    args = parser.parse_args(argv)
    rates: dict[str, list[float]] = {variant: [] for variant in VARIANTS}
    for _ in range(args.rounds):
        for variant in VARIANTS:
            rates[variant].append(run_once(variant, args.seconds))
    baseline = statistics.median(rates["typed"])
    table = {
        v: {
            "median_rps": round(statistics.median(r), 1),
            "ratio_to_typed": round(statistics.median(r) / baseline, 3),
            "runs": r,
        }
        for v, r in rates.items()
    }
    print(json.dumps(table, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
