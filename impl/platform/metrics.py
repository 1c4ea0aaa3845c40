"""The service's Prometheus metrics: one registry per app, every name prefixed ``charter_``.

Counters and the latency histogram move where things happen: the metrics middleware (requests, recorded at the end
of the event loop's iteration in which they were answered; a scrape flushes them first), the rate
limiter (rejections), the access guard (authentication failures), the cache (hits and misses). Levels owned by other
objects (the requests in flight, the database pool, open chat connections and SSE streams, the event bus's
subscriptions and queues) are *sampled*: read from their owner when /metrics is scraped, so no request pays for them.

Several workers: each process has its own memory, so one worker's registry knows only its own requests. With
``PROMETHEUS_MULTIPROC_DIR`` set, prometheus-client writes every value to files in that directory and a scrape of
any worker aggregates all of them (counters and histograms summed, gauges summed over live processes). The library
chooses its storage when it is imported, so the variable must be in the environment before the process starts
(the Dockerfile and the Kubernetes manifests set it, on an empty directory); a process where it was set too late
refuses to start rather than report one worker as the whole. Other workers' sampled levels are as fresh as their
last refresh (every ``SAMPLE_INTERVAL_SECONDS``).

Useful derived values: the cache hit ratio is ``rate(charter_cache_requests_total{result="hit"}[5m]) /
sum(rate(charter_cache_requests_total[5m]))``; latency quantiles come from
``histogram_quantile(0.95, sum by (le, route) (rate(charter_http_request_duration_seconds_bucket[5m])))``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
    values,
)

logger = logging.getLogger("charter.metrics")

NAMESPACE = "charter"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Seconds; from 5 ms (a cached read) to the default request budget (30 s): past it the answer is a 504 anyway.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
# How often each worker writes its sampled levels when workers share a directory (a scrape reads the files).
SAMPLE_INTERVAL_SECONDS = 5.0
# How a gauge combines the workers' values in multiprocess mode (only the live processes' count).
GaugeMode = Literal["livesum", "livemax"]


def multiprocess_dir_from_env() -> Path | None:
    """``PROMETHEUS_MULTIPROC_DIR``, read when the app is created (never at import); None when unset or empty."""
    raw = os.environ.get(MULTIPROCESS_ENV, "").strip()
    return Path(raw) if raw else None


def _require_multiprocess_storage(directory: Path) -> None:
    # prometheus-client picked in-memory values at import; metrics made now would never reach the directory.
    if not getattr(values.ValueClass, "_multiprocess", False):
        raise RuntimeError(
            f"{MULTIPROCESS_ENV} was set after prometheus_client was imported; set it in the environment before the"
            " process starts"
        )
    if not directory.is_dir():
        raise RuntimeError(f"{MULTIPROCESS_ENV}={directory} is not a directory; create it (empty) before starting")


@dataclass(frozen=True, slots=True)
class _Sample:
    """A level read from its owner at refresh time, written to a gauge (or, for a running total, a counter)."""

    read: Callable[[], float | Mapping[str, float]]
    write: Callable[[float | Mapping[str, float]], None]


class Metrics:
    """The app's metrics. Created once by the app factory; ``exposition`` renders what a scrape returns."""

    def __init__(self, *, multiprocess_dir: Path | None = None) -> None:
        self.multiprocess_dir = multiprocess_dir
        self._samples: list[_Sample] = []
        self._sampler: asyncio.Task[None] | None = None
        if multiprocess_dir is None:
            self.registry = CollectorRegistry(auto_describe=True)
            # Where the metrics below register: this app's registry (never prometheus-client's global one).
            self._home: CollectorRegistry | None = self.registry
        else:
            _require_multiprocess_storage(multiprocess_dir)
            # The metrics live in the shared files; the scrape registry holds only the collector that reads them.
            self.registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(self.registry, path=str(multiprocess_dir))  # type: ignore[no-untyped-call]
            self._home = None
        # The standard process_* metrics (CPU, memory, open files, start time) of the process that answers the
        # scrape: with several workers, of that worker (the library does not aggregate them across processes).
        ProcessCollector(registry=self.registry)
        self.http_requests = Counter(
            "http_requests_total",
            "HTTP requests answered, by method, route template and status.",
            ("method", "route", "status"),
            namespace=NAMESPACE,
            registry=self._home,
        )
        self.http_request_duration = Histogram(
            "http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer, by method and route template.",
            ("method", "route"),
            namespace=NAMESPACE,
            buckets=LATENCY_BUCKETS,
            registry=self._home,
        )
        self.http_in_flight = self._gauge("http_requests_in_flight", "HTTP requests being answered now.")
        self.rate_limit_rejections = Counter(
            "rate_limit_rejections_total",
            "Requests refused with 429, by rate-limit policy.",
            ("policy",),
            namespace=NAMESPACE,
            registry=self._home,
        )
        self.auth_failures = Counter(
            "auth_failures_total",
            "Requests refused with 401 by the access guard, by reason (missing, invalid, revoked).",
            ("reason",),
            namespace=NAMESPACE,
            registry=self._home,
        )
        self.cache_requests = Counter(
            "cache_requests_total",
            "Cache lookups, by result (hit or miss).",
            ("result",),
            namespace=NAMESPACE,
            registry=self._home,
        )
        self._cache_results: dict[bool, Any] = {}

    def _gauge(
        self, name: str, documentation: str, labels: tuple[str, ...] = (), *, mode: GaugeMode = "livesum"
    ) -> Gauge:
        # Across workers, over the processes still running: "livesum" adds levels up (connections, streams);
        # "livemax" shows the highest (a state, where a sum would mean another state).
        return Gauge(name, documentation, labels, namespace=NAMESPACE, registry=self._home, multiprocess_mode=mode)

    # -- hooks for the places where counted things happen ---------------------------------------------------------

    def rate_limit_rejected(self, policy: str) -> None:
        self.rate_limit_rejections.labels(policy=policy).inc()

    def auth_failed(self, reason: str) -> None:
        self.auth_failures.labels(reason=reason).inc()

    def cache_lookup(self, *, hit: bool) -> None:
        # Every cached read asks; labels() takes a lock and builds its key each call, the two children never change.
        child = self._cache_results.get(hit)
        if child is None:
            child = self._cache_results[hit] = self.cache_requests.labels(result="hit" if hit else "miss")
        child.inc()

    def track_level(self, gauge: Gauge, read: Callable[[], float]) -> None:
        """``gauge`` follows a level its owner keeps as a plain number: set from ``read`` at each scrape, and, with
        shared files, by the periodic sampler too (another worker's scrape sees it as of its last write, at most
        SAMPLE_INTERVAL_SECONDS old)."""
        self._samples.append(_Sample(read=read, write=lambda value: gauge.set(_number(value))))

    # -- sampled values -------------------------------------------------------------------------------------------

    def level(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A gauge whose value ``read`` returns at scrape time (e.g. open connections)."""
        gauge = self._gauge(name, documentation)
        self._samples.append(_Sample(read=read, write=lambda value: gauge.set(_number(value))))

    def levels(
        self,
        name: str,
        documentation: str,
        label: str,
        read: Callable[[], Mapping[str, float]],
        *,
        multiprocess_mode: GaugeMode = "livesum",
    ) -> None:
        """A gauge with one label, whose values per label value ``read`` returns at scrape time."""
        gauge = self._gauge(name, documentation, (label,), mode=multiprocess_mode)

        def write(value: float | Mapping[str, float]) -> None:
            for label_value, number in _mapping(value).items():
                gauge.labels(label_value).set(number)

        self._samples.append(_Sample(read=read, write=write))

    def running_total(self, name: str, documentation: str, read: Callable[[], float]) -> None:
        """A counter mirroring a total its owner keeps (``read`` never decreases): the increase since last time."""
        counter = Counter(name, documentation, namespace=NAMESPACE, registry=self._home)
        seen = 0.0

        def write(value: float | Mapping[str, float]) -> None:
            nonlocal seen
            total = _number(value)
            if total > seen:
                counter.inc(total - seen)
                seen = total

        self._samples.append(_Sample(read=read, write=write))

    def refresh(self) -> None:
        """Read every sampled value from its owner; one failing reader is logged and skipped, not the scrape."""
        for sample in self._samples:
            try:
                sample.write(sample.read())
            except Exception:
                logger.exception("could not sample a metric; its previous value stays")

    async def exposition(self) -> bytes:
        """The Prometheus text format (0.0.4) of every metric (every worker's, in multiprocess mode)."""
        self.refresh()  # on the event loop: the sampled objects belong to it
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        # Reading every worker's files is disk I/O: in a thread, off the event loop.
        return await asyncio.to_thread(generate_latest, self.registry)

    # -- lifespan -------------------------------------------------------------------------------------------------

    async def start(self) -> None:
        """With shared files, write this worker's levels periodically, so that a scrape of another worker sees them."""
        if self.multiprocess_dir is not None and self._samples and self._sampler is None:
            self._sampler = asyncio.create_task(self._sample_periodically(), name="charter-metrics-sampler")

    async def _sample_periodically(self) -> None:
        while True:
            self.refresh()
            await asyncio.sleep(SAMPLE_INTERVAL_SECONDS)

    async def close(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sampler
            self._sampler = None
        if self.multiprocess_dir is not None:
            # This worker's live gauges (in flight, connections) leave the sums; its counters stay counted.
            multiprocess.mark_process_dead(os.getpid(), str(self.multiprocess_dir))  # type: ignore[no-untyped-call]


def _number(value: float | Mapping[str, float]) -> float:
    if isinstance(value, Mapping):
        raise TypeError("a single-valued sample returned a mapping")
    return float(value)


def _mapping(value: float | Mapping[str, float]) -> Mapping[str, float]:
    if not isinstance(value, Mapping):
        raise TypeError("a labelled sample returned a single number")
    return value
