"""How much NumPy buys `POST /api/v1/demo/statistics`: the job's vectorised path against plain Python on the same
series (1,000,000 values by default), with the same results checked to agree.

    .venv/bin/python -m load.bench_statistics [--values 1000000] [--rounds 5]

Prints the median time of each path over the rounds and their ratio: the statistics alone (count, mean, both
standard deviations, three percentiles, a histogram of 100 bins), and the whole job from the JSON bytes (parse and
validate too, as the pool's worker does; the plain path only parses, with orjson as well). A measurement, not a
test: numbers vary with the machine and its load.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import orjson

from impl.demo.series import describe, describe_body

PERCENTILES = [5.0, 50.0, 95.0]
BINS = 100


def describe_in_python(values: list[float], *, percentiles: list[float], bins: int) -> dict[str, Any]:
    """The same statistics, one value at a time: what the endpoint would do without NumPy."""
    count = len(values)
    mean = math.fsum(values) / count
    squares = math.fsum((value - mean) ** 2 for value in values)
    ordered = sorted(values)
    low, high = ordered[0], ordered[-1]

    def percentile(p: float) -> float:  # linear interpolation between closest ranks (NumPy's "linear")
        rank = (count - 1) * p / 100
        below = math.floor(rank)
        above = min(below + 1, count - 1)
        return ordered[below] + (ordered[above] - ordered[below]) * (rank - below)

    first, last = (low - 0.5, high + 0.5) if low == high else (low, high)
    width = (last - first) / bins
    counts = [0] * bins
    for value in values:
        counts[min(int((value - first) / width), bins - 1)] += 1
    return {
        "count": count,
        "mean": mean,
        "stdev": math.sqrt(squares / (count - 1)) if count > 1 else None,
        "pstdev": math.sqrt(squares / count),
        "min": low,
        "max": high,
        "percentiles": [{"percentile": p, "value": percentile(p)} for p in percentiles],
        "histogram": {"counts": counts},
    }


def median_seconds(run: Callable[[], object], rounds: int) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def agree(vectorised: dict[str, Any], plain: dict[str, Any]) -> None:
    """Stop the benchmark unless both paths computed the same statistics."""
    same = [vectorised[key] == plain[key] for key in ("count", "min", "max")]
    same += [math.isclose(vectorised[key], plain[key], rel_tol=1e-9) for key in ("mean", "stdev", "pstdev")]
    same += [
        math.isclose(mine["value"], theirs["value"], rel_tol=1e-12)
        for mine, theirs in zip(vectorised["percentiles"], plain["percentiles"], strict=True)
    ]
    same.append(sum(vectorised["histogram"]["counts"]) == sum(plain["histogram"]["counts"]))
    if not all(same):
        raise SystemExit(f"the two paths disagree:\n{vectorised}\n{plain}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--values", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    arguments = parser.parse_args()
    rng = random.Random(22)  # noqa: S311 - a fixed sample series, not a secret  # nosec B311
    values = [rng.gauss(100.0, 15.0) for _ in range(arguments.values)]
    body = json.dumps({"values": values, "percentiles": PERCENTILES, "bins": BINS}).encode()
    series = np.asarray(values, dtype=np.float64)

    agree(
        describe(series, percentiles=PERCENTILES, bins=BINS),
        describe_in_python(values, percentiles=PERCENTILES, bins=BINS),
    )
    rows = [
        (
            "statistics",
            median_seconds(lambda: describe(series, percentiles=PERCENTILES, bins=BINS), arguments.rounds),
            median_seconds(lambda: describe_in_python(values, percentiles=PERCENTILES, bins=BINS), arguments.rounds),
        ),
        (
            "whole job from JSON",
            median_seconds(lambda: describe_body(body), arguments.rounds),
            median_seconds(
                lambda: describe_in_python(orjson.loads(body)["values"], percentiles=PERCENTILES, bins=BINS),
                arguments.rounds,
            ),
        ),
    ]
    print(f"{arguments.values:,} values, {len(body) / 2**20:.1f} MiB of JSON, median of {arguments.rounds} rounds")
    for name, numpy_seconds, python_seconds in rows:
        print(
            f"{name:>20}: NumPy {numpy_seconds * 1000:8.1f} ms, pure Python {python_seconds * 1000:8.1f} ms, "
            f"ratio {python_seconds / numpy_seconds:5.1f}x"
        )


if __name__ == "__main__":
    main()
