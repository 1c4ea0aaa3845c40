"""Which JSON path is fastest on this FastAPI? Each app on one uvicorn worker pinned to CPU 0, wrk on CPU 1.

Runs are interleaved (A B C A B C ...) and medians reported, as ratios to the typed path, because absolute rates
drift between runs on shared machines. Usage: python -m load.bench_serialisation [--rounds 3 --seconds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys

from load.wrk import pinned_server, run_wrk, uvicorn_argv
from scripts.live_service import free_port

VARIANTS = ("typed", "untyped", "json_response")


def run_once(variant: str, seconds: int) -> float:
    port = free_port()
    argv = uvicorn_argv(f"load.serialisation_apps:{variant}", port=port, python=sys.executable)
    with pinned_server(argv, ready_url=f"http://127.0.0.1:{port}/health"):
        result = run_wrk(f"http://127.0.0.1:{port}/health", seconds=seconds, connections=64)
    if not result.clean:
        raise RuntimeError(f"wrk run of {variant} was not clean: {result}")
    return result.requests_per_second


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
