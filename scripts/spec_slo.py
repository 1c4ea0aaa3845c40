"""Read an operation's service-level objective (`x-slo`), refusing one that is missing or malformed.

`x-slo: {p95_ms: 300, max_error_ratio: 0.01}` says the operation's 95th-percentile latency stays under 300 ms and
at most 1 % of its requests fail, at the load `make load` applies. The generator refuses an operation without it
(so a new operation cannot slip past the load test's verdict), and `load/slo.py` judges a Locust run by it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SLO_KEYS = frozenset({"p95_ms", "max_error_ratio"})


@dataclass(frozen=True)
class Slo:
    """The p95 latency an operation must stay under, in ms, and the share of its requests that may fail."""

    p95_ms: float
    max_error_ratio: float


def _is_number(value: Any) -> bool:
    # bool is an int in Python: `p95_ms: true` must not pass as 1 ms.
    return isinstance(value, int | float) and not isinstance(value, bool)


def read_slo(raw: dict[str, Any]) -> Slo:
    """The operation's `x-slo`; a ValueError says what is wrong with it."""
    slo = raw.get("x-slo")
    if not isinstance(slo, dict) or set(slo) != SLO_KEYS:
        raise ValueError(
            f"declare `x-slo` with exactly {sorted(SLO_KEYS)} (p95 latency in ms, maximum share of errors), got {slo!r}"
        )
    p95, ratio = slo["p95_ms"], slo["max_error_ratio"]
    if not _is_number(p95) or p95 <= 0:
        raise ValueError(f"`x-slo.p95_ms` must be a positive number of milliseconds, got {p95!r}")
    if not _is_number(ratio) or not 0 <= ratio <= 1:
        raise ValueError(f"`x-slo.max_error_ratio` must be a number from 0 to 1, got {ratio!r}")
    return Slo(p95_ms=float(p95), max_error_ratio=float(ratio))
