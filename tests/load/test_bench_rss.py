"""load/rss.py: the trend of a soak's RSS samples, and sampling a live process (this one)."""

from __future__ import annotations

import mmap
import os
import time

import pytest

from load.rss import MB, cpu_seconds, sampling, status_bytes, trend, wait_until_idle


def samples(values_mb: list[float], *, every: float = 5.0) -> list[tuple[float, int]]:
    return [(i * every, int(mb * MB)) for i, mb in enumerate(values_mb)]


def test_a_flat_series_has_no_slope() -> None:
    shape = trend(samples([120.0] * 61), warmup_seconds=0)
    assert shape.slope_mb_per_minute == 0
    assert shape.first_minute_mb == shape.last_minute_mb == shape.peak_mb == 120.0


def test_a_steady_leak_shows_as_slope_and_as_last_minute_above_first() -> None:
    # One sample every 5 s for 5 minutes, growing 1 MB a minute.
    shape = trend(samples([100 + i * 5 / 60 for i in range(61)]), warmup_seconds=0)
    assert shape.slope_mb_per_minute == pytest.approx(1.0, abs=0.01)
    assert shape.last_minute_mb - shape.first_minute_mb == pytest.approx(4.0, abs=0.05)
    assert shape.peak_mb == pytest.approx(105.0, abs=0.01)


def test_the_warm_up_is_left_out() -> None:
    # Start-up growth in the first 30 s, flat afterwards: flat.
    values = [60.0, 80.0, 100.0, 110.0, 115.0, 118.0] + [120.0] * 55
    shape = trend(samples(values), warmup_seconds=30)
    assert shape.slope_mb_per_minute == 0
    assert shape.first_minute_mb == 120.0
    assert trend(samples(values), warmup_seconds=0).slope_mb_per_minute > 0


def test_a_trend_needs_two_samples_after_the_warm_up() -> None:
    with pytest.raises(ValueError, match="at least two samples"):
        trend(samples([100.0, 100.0, 100.0]), warmup_seconds=10)


def test_sampling_reads_this_process_rss_until_the_block_ends() -> None:
    with sampling(os.getpid(), every_seconds=0.05) as rss:
        # A fresh anonymous mapping, every page written: new resident memory whatever the process freed before (a
        # bytearray may reuse pages malloc already holds, as it did late in a long test run).
        ballast = mmap.mmap(-1, 30 * MB)
        for offset in range(0, 30 * MB, mmap.PAGESIZE):
            ballast[offset] = 1
        time.sleep(0.3)
    assert len(rss.samples) >= 4
    assert rss.samples[-1][1] >= rss.samples[0][1] + 25 * MB
    assert rss.peak == max(b for _, b in rss.samples)
    assert status_bytes(os.getpid(), "VmHWM") > 25 * MB
    ballast.close()


def test_idle_returns_once_the_process_rests() -> None:
    # This process does nothing while it waits, so the wait returns after about one interval.
    started = time.monotonic()
    wait_until_idle(os.getpid(), interval=0.2)
    assert time.monotonic() - started < 2


def test_cpu_seconds_grow_while_the_process_computes() -> None:
    before = cpu_seconds(os.getpid())
    deadline = time.monotonic() + 10  # a shared machine may give this process little of a core
    while cpu_seconds(os.getpid()) - before < 0.05 and time.monotonic() < deadline:
        sum(range(10_000))
    assert cpu_seconds(os.getpid()) - before >= 0.05
