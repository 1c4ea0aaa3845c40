"""wrk and taskset for the benchmarks: run a pinned server, drive it with a pinned wrk, parse and summarise the output.

One core serves, the other loads: a server and its load generator on the same core would measure their contention,
not the server. Absolute rates drift between runs on a shared machine, so callers interleave runs and compare
medians measured side by side (see load/bench.py and load/bench_serialisation.py).
"""

from __future__ import annotations

import dataclasses
import re
import resource
import shutil
import statistics
import subprocess  # nosec B404 - starts our own servers and wrk, loopback only
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from scripts.live_service import ROOT, stop, wait_until_ready

SERVER_CPU = 0
LOAD_CPU = 1
# wrk -c 1000 needs a descriptor per connection, on both sides; a default soft limit of 1024 would turn the
# connection test into a test of the limit.
OPEN_FILES = 8192
# Which Debian package each tool comes from, for the error message (the Makefile installs them on demand).
PACKAGES = {"wrk": "wrk", "taskset": "util-linux"}

_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = re.compile(r"([\d.]+)(us|ms|s|m|h)")
_REQUESTS_PER_SECOND = re.compile(r"^Requests/sec:\s+([\d.]+)\s*$", re.MULTILINE)
_TOTAL = re.compile(r"^\s*(\d+) requests in ([\d.]+\w+),", re.MULTILINE)
_PERCENTILE = re.compile(r"^\s+(50|75|90|99)%\s+([\d.]+(?:us|ms|s|m|h))\s*$", re.MULTILINE)
_SOCKET_ERRORS = re.compile(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
_NON_2XX = re.compile(r"Non-2xx or 3xx responses: (\d+)")


def tool(name: str) -> str:
    """The path of a command-line tool, or exit naming the Debian package that provides it."""
    path = shutil.which(name)
    if path is None:
        raise SystemExit(f"the benchmark needs {name}: apt-get install {PACKAGES.get(name, name)} (make bench does)")
    return path


def raise_open_files_limit(wanted: int = OPEN_FILES) -> None:
    """Raise this process's soft RLIMIT_NOFILE towards ``wanted`` (never above the hard limit); children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def milliseconds(duration: str) -> float:
    """wrk's duration text (``850.00us``, ``1.23ms``, ``2.00s``, ``1.50m``) in milliseconds."""
    match = _DURATION.fullmatch(duration.strip())
    if match is None:
        raise ValueError(f"not a wrk duration: {duration!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


@dataclass(frozen=True, slots=True)
class WrkResult:
    """One wrk run, from its ``--latency`` output."""

    requests: int
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    socket_errors: int  # connect + read + write + timeout
    non_2xx: int  # wrk's "Non-2xx or 3xx responses"
    # Share of its core wrk used (CPU time / wall time): near 1.0, the load generator, not the server, was the limit.
    load_cpu_share: float = 0.0

    @property
    def clean(self) -> bool:
        """Answers came back, and all of them were 2xx or 3xx over sockets that never failed."""
        return self.requests > 0 and self.socket_errors == 0 and self.non_2xx == 0


def parse_wrk(output: str) -> WrkResult:
    """Parse ``wrk --latency`` output; ValueError when a figure is missing (wrk failed, or it was run without it)."""
    rate = _REQUESTS_PER_SECOND.search(output)
    total = _TOTAL.search(output)
    percentiles = {int(p): milliseconds(value) for p, value in _PERCENTILE.findall(output)}
    if rate is None or total is None or 50 not in percentiles or 99 not in percentiles:
        raise ValueError(f"not the output of a completed wrk --latency run:\n{output}")
    errors = _SOCKET_ERRORS.search(output)
    non_2xx = _NON_2XX.search(output)
    return WrkResult(
        requests=int(total.group(1)),
        requests_per_second=float(rate.group(1)),
        p50_ms=percentiles[50],
        p99_ms=percentiles[99],
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
    )


@dataclass(frozen=True, slots=True)
class Summary:
    """The medians of interleaved runs of one measurement; errors are summed (one is one too many)."""

    runs: int
    requests: int  # in all runs together
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int
    load_cpu_share: float  # the median run's

    def ratio_to(self, baseline: Summary) -> float:
        return round(self.requests_per_second / baseline.requests_per_second, 3)


def summarise(results: Sequence[WrkResult]) -> Summary:
    """Medians of rate, p50 and p99 over the runs (each median on its own), totals of the errors."""
    if not results:
        raise ValueError("no runs to summarise")
    return Summary(
        runs=len(results),
        requests=sum(r.requests for r in results),
        requests_per_second=round(statistics.median(r.requests_per_second for r in results), 1),
        p50_ms=round(statistics.median(r.p50_ms for r in results), 3),
        p99_ms=round(statistics.median(r.p99_ms for r in results), 3),
        socket_errors=sum(r.socket_errors for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        load_cpu_share=round(statistics.median(r.load_cpu_share for r in results), 2),
    )


def run_wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 64,
    script: Path | None = None,
    headers: Sequence[str] = (),
) -> WrkResult:
    """One wrk run (one thread, pinned to LOAD_CPU) against ``url``; its open-files limit raised for many sockets."""
    # A 10 s timeout (wrk's default is 2 s): on a busy machine a slow answer is latency, and p99 shows it; a socket
    # error should mean a connection that failed.
    command = [tool("taskset"), "-c", str(LOAD_CPU), tool("wrk"), "--latency", "-t1", f"-c{connections}"]
    command += ["--timeout", "10s"]
    command += [f"-d{max(1, round(seconds))}s"]
    for header in headers:
        command += ["-H", header]
    if script is not None:
        command += ["-s", str(script)]
    before, started = _children_cpu_seconds(), time.monotonic()
    completed = subprocess.run(  # noqa: S603  # nosec B603 - fixed argv, our own URL
        [*command, url],
        check=True,
        capture_output=True,
        text=True,
        preexec_fn=raise_open_files_limit,
    )
    share = (_children_cpu_seconds() - before) / (time.monotonic() - started)
    return dataclasses.replace(parse_wrk(completed.stdout), load_cpu_share=round(share, 2))


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # children that have ended: wrk, once it has
    return usage.ru_utime + usage.ru_stime


@contextmanager
def pinned_server(
    argv: Sequence[str], *, ready_url: str, env: Mapping[str, str] | None = None, log: IO[bytes] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """Start ``argv`` on SERVER_CPU (``taskset`` execs it: the pid is the server's), wait for ``ready_url``, stop it."""
    process = subprocess.Popen(  # noqa: S603  # nosec B603 - our own server on loopback
        [tool("taskset"), "-c", str(SERVER_CPU), *argv],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
        preexec_fn=raise_open_files_limit,
    )
    try:
        wait_until_ready(ready_url, process, timeout=60)
        yield process
    finally:
        stop(process, timeout=30)


def uvicorn_argv(factory: str, *, port: int, python: str) -> list[str]:
    """uvicorn serving an app factory the way production serves the service: uvloop, httptools, one worker."""
    return [
        python,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
