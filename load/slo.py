"""Judge a Locust run by the spec's service-level objectives (`x-slo` per operation).

Requests are named by operationId, so Locust's statistics map one-to-one onto spec operations. For each operation
the verdict compares the run's p95 latency (given enough requests for a p95 to mean something) and error share
with the operation's `x-slo`. A 429 is reported apart from errors and never counts as one: a rate-limited run says
so in its own column (and in a warning), instead of turning the load test into a test of the rate limiter.
Operations the run never called are listed as such, and request names that are not operations (e.g. `GET /docs`)
are shown without a verdict.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import yaml

from scripts.spec_slo import Slo, read_slo

HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options", "trace")
# Below this many requests the 95th percentile is one of the slowest few: a handful of stray requests would decide
# the verdict. Such operations are judged on errors only and reported "not judged" (never "ok"); 100 requests put
# five above the p95.
MIN_REQUESTS_FOR_P95 = 100
OK, BREACH, NOT_JUDGED, NOT_EXERCISED, NO_SLO = "ok", "BREACH", "not judged", "not exercised", "no SLO"


@dataclass(frozen=True)
class Rules:
    """How a run is judged: the requests an operation needs for its p95 to count, or errors only (a smoke run)."""

    min_requests: int = MIN_REQUESTS_FOR_P95
    errors_only: bool = False


class StatsEntry(Protocol):
    """What this module reads of a ``locust.stats.StatsEntry``. Locust is not imported here: importing it
    monkey-patches the whole process for gevent, which the unit tests' process must not get."""

    num_requests: int
    num_failures: int

    def get_response_time_percentile(self, percent: float) -> float: ...


class Stats(Protocol):
    """What this module reads of a ``locust.stats.RequestStats``: its entries by (name, method)."""

    @property
    def entries(self) -> Mapping[tuple[str, str], StatsEntry]: ...


@dataclass(frozen=True)
class SpecOperation:
    operation_id: str
    method: str  # upper case, as Locust records it
    path: str
    slo: Slo


@dataclass(frozen=True)
class Observed:
    """One request name's numbers from a run; ``failures`` is everything Locust failed, 429s included."""

    requests: int
    failures: int
    rate_limited: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def errors(self) -> int:
        return self.failures - self.rate_limited

    @property
    def error_ratio(self) -> float:
        return self.errors / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class Verdict:
    name: str
    observed: Observed | None
    slo: Slo | None
    verdict: str  # OK, BREACH, NOT_JUDGED, NOT_EXERCISED or NO_SLO
    reasons: tuple[str, ...] = ()

    @property
    def breached(self) -> bool:
        return self.verdict == BREACH


def spec_operations(spec: Mapping[str, Any]) -> dict[str, SpecOperation]:
    """Every operation of the spec with its `x-slo`, by operationId; a missing or malformed SLO is a ValueError."""
    found: dict[str, SpecOperation] = {}
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            if method in item:
                raw = item[method]
                try:
                    slo = read_slo(raw)
                except ValueError as error:
                    raise ValueError(f"{method.upper()} {path}: {error}") from None
                found[raw["operationId"]] = SpecOperation(raw["operationId"], method.upper(), path, slo)
    return found


def load_spec_operations(spec_path: Path) -> dict[str, SpecOperation]:
    return spec_operations(yaml.safe_load(spec_path.read_text(encoding="utf-8")))


def observe(stats: Stats, rate_limited: Mapping[tuple[str, str], int]) -> dict[tuple[str, str], Observed]:
    """Locust's per-request-name numbers, keyed by (method, name), with the 429s counted during the run."""
    observed: dict[tuple[str, str], Observed] = {}
    for (name, method), entry in stats.entries.items():
        observed[(str(method), str(name))] = Observed(
            requests=entry.num_requests,
            failures=entry.num_failures,
            rate_limited=rate_limited.get((str(method), str(name)), 0),
            p50_ms=float(entry.get_response_time_percentile(0.50) or 0),
            p95_ms=float(entry.get_response_time_percentile(0.95) or 0),
            p99_ms=float(entry.get_response_time_percentile(0.99) or 0),
        )
    return observed


def judge(observed: Observed, slo: Slo, rules: Rules = Rules()) -> tuple[str, tuple[str, ...]]:
    """The verdict and what it rests on: the breaches, and a note when the p95 was not judged (then the verdict is
    NOT_JUDGED unless the errors breach: an unjudged latency is never "ok")."""
    breaches, notes = [], []
    if rules.errors_only:
        notes.append("p95 not judged (errors only)")
    elif observed.requests < rules.min_requests:
        notes.append(f"p95 not judged ({observed.requests} < {rules.min_requests} requests)")
    elif observed.p95_ms > slo.p95_ms:
        breaches.append(f"p95 {observed.p95_ms:g} ms > {slo.p95_ms:g} ms")
    if observed.error_ratio > slo.max_error_ratio:
        breaches.append(f"errors {observed.error_ratio:.2%} > {slo.max_error_ratio:.2%}")
    verdict = BREACH if breaches else NOT_JUDGED if notes else OK
    return verdict, (*breaches, *notes)


def evaluate(
    operations: Mapping[str, SpecOperation],
    observed: Mapping[tuple[str, str], Observed],
    rules: Rules = Rules(),
) -> list[Verdict]:
    """One verdict per spec operation (sorted by operationId), then one per request name that is no operation."""
    verdicts = []
    matched: set[tuple[str, str]] = set()
    for operation_id in sorted(operations):
        operation = operations[operation_id]
        key = (operation.method, operation_id)
        seen = observed.get(key)
        if seen is None or seen.requests == 0:
            verdicts.append(Verdict(operation_id, seen, operation.slo, NOT_EXERCISED))
            continue
        matched.add(key)
        verdict, reasons = judge(seen, operation.slo, rules)
        verdicts.append(Verdict(operation_id, seen, operation.slo, verdict, reasons))
    for key in sorted(set(observed) - matched):
        method, name = key
        label = name if name.startswith(f"{method} ") else f"{method} {name}"
        verdicts.append(Verdict(label, observed[key], None, NO_SLO))
    return verdicts


def _ms(value: float) -> str:
    return f"{value:,.0f}"


def render(verdicts: Iterable[Verdict]) -> str:
    """The table printed at the end of a run: operation, requests, p50, p95, p99, errors, 429s, SLO, verdict."""
    header = ("operation", "requests", "p50 ms", "p95 ms", "p99 ms", "errors", "429s", "SLO (p95, errors)", "verdict")
    rows = [header]
    for v in verdicts:
        o = v.observed
        numbers = (
            (str(o.requests), _ms(o.p50_ms), _ms(o.p95_ms), _ms(o.p99_ms), f"{o.errors} ({o.error_ratio:.1%})")
            if o is not None and o.requests
            else ("0", "-", "-", "-", "-")
        )
        limited = str(o.rate_limited) if o is not None else "-"
        slo = f"{v.slo.p95_ms:,.0f} ms, {v.slo.max_error_ratio:.1%}" if v.slo else "-"
        verdict = f"{v.verdict}: {'; '.join(v.reasons)}" if v.reasons else v.verdict
        rows.append((v.name, *numbers, limited, slo, verdict))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [
            cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=False))
        ]
        lines.append("  ".join([*cells, row[-1]]))
    lines.insert(1, "-" * len(lines[0]))
    return "\n".join(lines)


def summary(verdicts: list[Verdict], rules: Rules = Rules()) -> tuple[int, list[str]]:
    """The exit code (1 on any breach) and the closing lines: how p95s were judged, operations never exercised,
    429s, and the verdict (met, not judged, breached)."""
    breaches = [v.name for v in verdicts if v.breached]
    unexercised = [v.name for v in verdicts if v.verdict == NOT_EXERCISED]
    limited = sum(v.observed.rate_limited for v in verdicts if v.observed is not None)
    lines = [
        "errors only: no p95 is judged in this run (too few requests for one to mean anything)"
        if rules.errors_only
        else f"p95 judged only with at least {rules.min_requests} requests per operation"
    ]
    if unexercised:
        lines.append(f"not exercised by this run ({len(unexercised)}): {', '.join(unexercised)}")
    if limited:
        lines.append(
            f"warning: {limited} responses were 429 (rate limited); they are not errors, but the target's rate "
            "limits shaped this run (a local `make load` turns them off)"
        )
    exercised = sum(1 for v in verdicts if v.verdict in (OK, BREACH, NOT_JUDGED))
    met = sum(1 for v in verdicts if v.verdict == OK)
    unjudged = sum(1 for v in verdicts if v.verdict == NOT_JUDGED)
    if breaches:
        lines.append(f"SLO BREACHED by {len(breaches)} of {exercised} operations: {', '.join(breaches)}")
    elif rules.errors_only:
        lines.append(f"error shares within their SLO for all {exercised} operations exercised (p95 not judged)")
    elif unjudged:
        lines.append(
            f"SLOs met by {met} of {exercised} exercised operations; {unjudged} not judged (too few requests for a p95)"
        )
    else:
        lines.append(f"SLOs met by all {exercised} operations exercised")
    return (1 if breaches else 0), lines
