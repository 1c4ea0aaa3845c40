"""The `health` tag's handlers (generated.api.health.HealthApi)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from generated import models
from generated.api._support import Principal, Reply, content_length
from impl.health.errors import NotReadyError
from impl.platform.readiness import CheckOutcome, ReadinessProbe


class HealthService:
    """Answers the probes. ``/health`` and ``/livez`` are constant (built once); ``/readyz`` runs the checks of this
    instance's own readiness, ``/health/detailed`` every check, shared dependencies included."""

    def __init__(
        self, *, version: str, readiness: ReadinessProbe, draining: Callable[[], bool] = lambda: False
    ) -> None:
        self._readiness = readiness
        self._version = version
        self._draining = draining
        self._health = models.Health(status="ok", version=version)
        self._liveness = models.Liveness(status="alive")
        # HEAD answers with GET's headers (RFC 9110 §9.3.2), Content-Length included.
        self._health_head = Reply(None, headers={"Content-Length": content_length(self._health)})
        self._liveness_head = Reply(None, headers={"Content-Length": content_length(self._liveness)})
        self._started_at = datetime.now(UTC).replace(microsecond=0)
        self._started = time.monotonic()

    async def get_health(self) -> models.Health:
        return self._health

    async def head_health(self) -> Reply[None]:
        return self._health_head

    async def get_health_detailed(self, *, principal: Principal) -> models.HealthDetailed:
        """Every check with its latency, up or not: a page for people, so it answers 200 even when degraded."""
        outcomes = await self._readiness.run()
        return models.HealthDetailed(
            status=models.Status.ok if all(outcome.up for outcome in outcomes) else models.Status.degraded,
            version=self._version,
            started_at=self._started_at,
            uptime_seconds=round(time.monotonic() - self._started, 3),
            draining=self._draining(),
            checks=[_check(outcome) for outcome in outcomes],
        )

    async def get_liveness(self) -> models.Liveness:
        return self._liveness

    async def head_liveness(self) -> Reply[None]:
        return self._liveness_head

    async def get_readiness(self) -> models.Readiness:
        return _readiness(await self._ready_outcomes())

    async def head_readiness(self) -> Reply[None]:
        return Reply(None, headers={"Content-Length": content_length(_readiness(await self._ready_outcomes()))})

    async def _ready_outcomes(self) -> list[CheckOutcome]:
        outcomes = await self._readiness.run(include_shared=False)
        if not all(outcome.up for outcome in outcomes):
            raise NotReadyError(outcomes)
        return outcomes


def _readiness(outcomes: list[CheckOutcome]) -> models.Readiness:
    return models.Readiness(
        status="ready",
        checks=[
            models.DependencyCheck(name=o.name, status=models.CheckStatus.up, latency_ms=o.latency_ms) for o in outcomes
        ],
    )


def _check(outcome: CheckOutcome) -> models.DependencyCheck:
    if outcome.up:
        return models.DependencyCheck(name=outcome.name, status=models.CheckStatus.up, latency_ms=outcome.latency_ms)
    return models.DependencyCheck(
        name=outcome.name, status=models.CheckStatus.down, latency_ms=outcome.latency_ms, detail=outcome.detail
    )
