"""The `health` tag's handlers (generated.api.health.HealthApi)."""

from __future__ import annotations

from generated import models
from impl.health.errors import NotReadyError
from impl.platform.readiness import CheckOutcome, ReadinessProbe


class HealthService:
    """Answers the probes. ``/health`` and ``/livez`` are constant (built once); ``/readyz`` runs every check."""

    def __init__(self, *, version: str, readiness: ReadinessProbe) -> None:
        self._readiness = readiness
        self._health = models.Health(status="ok", version=version)
        self._liveness = models.Liveness(status="alive")

    async def get_health(self) -> models.Health:
        return self._health

    async def head_health(self) -> None:
        return None

    async def get_liveness(self) -> models.Liveness:
        return self._liveness

    async def head_liveness(self) -> None:
        return None

    async def get_readiness(self) -> models.Readiness:
        outcomes = await self._ready_outcomes()
        return models.Readiness(
            status="ready",
            checks=[
                models.DependencyCheck(name=o.name, status=models.CheckStatus.up, latency_ms=o.latency_ms)
                for o in outcomes
            ],
        )

    async def head_readiness(self) -> None:
        await self._ready_outcomes()

    async def _ready_outcomes(self) -> list[CheckOutcome]:
        outcomes = await self._readiness.run()
        if not all(outcome.up for outcome in outcomes):
            raise NotReadyError(outcomes)
        return outcomes
