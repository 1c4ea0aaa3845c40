"""Readiness: run every dependency check concurrently, each bounded by a timeout, and report each outcome."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

# A check returns normally when its dependency is usable and raises (anything) when it is not.
Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    name: str
    up: bool
    latency_ms: float
    detail: str | None = None


class ReadinessProbe:
    """Holds the named checks the app registered at start-up; ``run()`` answers whether they are up right now.

    A check of a *shared* dependency (one every replica uses alike, such as Redis) is reported but does not decide
    readiness: when it is down it is down for every replica at once, so failing readiness would take them all out
    of the load balancer together, and hide what still works without it (Kubernetes' probe guidance:
    https://kubernetes.io/docs/concepts/configuration/liveness-readiness-startup-probes/). Its outage shows on the
    detailed health page and in the circuit breaker's metric instead.
    """

    def __init__(self, *, timeout_seconds: float) -> None:
        self.timeout_seconds = timeout_seconds
        self._checks: dict[str, Check] = {}
        self._shared: set[str] = set()

    def register(self, name: str, check: Check, *, shared: bool = False) -> None:
        if name in self._checks:
            raise ValueError(f"a readiness check named {name!r} is already registered")
        self._checks[name] = check
        if shared:
            self._shared.add(name)

    @property
    def names(self) -> Sequence[str]:
        return tuple(self._checks)

    async def _run_one(self, name: str, check: Check) -> CheckOutcome:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_seconds):
                await check()
        except TimeoutError:
            detail: str | None = f"timed out after {self.timeout_seconds:g} s"
        except Exception as error:  # noqa: BLE001 - any failure of a dependency means "down", never a 500
            detail = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        else:
            detail = None
        latency_ms = round((time.perf_counter() - started) * 1000, 3)
        return CheckOutcome(name=name, up=detail is None, latency_ms=latency_ms, detail=detail)

    async def run(self, *, include_shared: bool = True) -> list[CheckOutcome]:
        """Every check; without ``include_shared``, only those that decide this instance's readiness."""
        checks = [(name, check) for name, check in self._checks.items() if include_shared or name not in self._shared]
        return list(await asyncio.gather(*(self._run_one(name, check) for name, check in checks)))
