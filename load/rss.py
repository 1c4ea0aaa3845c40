"""A server's resident memory while it is under load: sampled from /proc in a thread, and the trend of a soak."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

MB = 1_000_000  # the targets are in MB (10^6 bytes), as docs/performance.md writes them


def status_bytes(pid: int, key: str) -> int:
    """A size from /proc/<pid>/status (``VmRSS``: resident now, ``VmHWM``: the peak since the process started)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} for process {pid}")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used (/proc/<pid>/stat, fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_idle(pid: int, *, interval: float = 0.5, busy_share: float = 0.1, timeout: float = 120) -> None:
    """Return once the process used under ``busy_share`` of a core for one ``interval`` (or after ``timeout``)."""
    deadline = time.monotonic() + timeout
    used = cpu_seconds(pid)
    while time.monotonic() < deadline:
        time.sleep(interval)
        now = cpu_seconds(pid)
        if now - used < busy_share * interval:
            return
        used = now


@dataclass
class RssSamples:
    """``(seconds since the start, bytes)`` pairs; filled by :func:`sampling`."""

    samples: list[tuple[float, int]] = field(default_factory=list)

    @property
    def peak(self) -> int:
        return max((rss for _, rss in self.samples), default=0)


@contextmanager
def sampling(pid: int, *, every_seconds: float) -> Iterator[RssSamples]:
    """Sample the process's VmRSS every ``every_seconds`` until the block ends (and once at each end)."""
    result = RssSamples()
    stop = threading.Event()
    started = time.monotonic()

    def sample() -> None:
        try:
            result.samples.append((round(time.monotonic() - started, 2), status_bytes(pid, "VmRSS")))
        except (OSError, RuntimeError):
            stop.set()  # the process is gone: the caller sees that from the process itself

    def loop() -> None:
        while not stop.wait(every_seconds):
            sample()

    sample()
    thread = threading.Thread(target=loop, name=f"rss-{pid}", daemon=True)
    thread.start()
    try:
        yield result
    finally:
        stop.set()
        thread.join()
        sample()


@dataclass(frozen=True, slots=True)
class Trend:
    """How RSS moved over a soak, after its warm-up."""

    first_minute_mb: float  # mean of the samples in the first 60 s after the warm-up
    last_minute_mb: float  # mean of the samples in the last 60 s
    slope_mb_per_minute: float  # least-squares fit over every sample after the warm-up
    peak_mb: float


def trend(samples: Sequence[tuple[float, int]], *, warmup_seconds: float) -> Trend:
    """The trend of ``samples`` that come after ``warmup_seconds`` (ValueError with fewer than two of them)."""
    kept = [(t, rss / MB) for t, rss in samples if t >= warmup_seconds]
    if len(kept) < 2:
        raise ValueError("a trend needs at least two samples after the warm-up")
    start, end = kept[0][0], kept[-1][0]
    first = [mb for t, mb in kept if t <= start + 60]
    last = [mb for t, mb in kept if t >= end - 60]
    mean_t = sum(t for t, _ in kept) / len(kept)
    mean_mb = sum(mb for _, mb in kept) / len(kept)
    spread = sum((t - mean_t) ** 2 for t, _ in kept)
    slope = sum((t - mean_t) * (mb - mean_mb) for t, mb in kept) / spread if spread else 0.0
    return Trend(
        first_minute_mb=round(sum(first) / len(first), 2),
        last_minute_mb=round(sum(last) / len(last), 2),
        slope_mb_per_minute=round(slope * 60, 3),
        peak_mb=round(max(mb for _, mb in kept), 2),
    )
