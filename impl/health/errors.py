"""Domain exceptions of the health package; the platform's problem handler turns them into problem+json."""

from __future__ import annotations

from collections.abc import Sequence

from impl.platform.problems import ProblemError
from impl.platform.readiness import CheckOutcome

# How long a load balancer should wait before asking a not-ready instance again.
RETRY_AFTER_SECONDS = 5


class NotReadyError(ProblemError):
    status = 503

    def __init__(self, outcomes: Sequence[CheckOutcome]) -> None:
        down = ", ".join(outcome.name for outcome in outcomes if not outcome.up)
        super().__init__(
            f"Not ready: {down} {'is' if ',' not in down else 'are'} down.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
            extensions={"checks": [_as_json(outcome) for outcome in outcomes]},
        )


def _as_json(outcome: CheckOutcome) -> dict[str, object]:
    item: dict[str, object] = {
        "name": outcome.name,
        "status": "up" if outcome.up else "down",
        "latency_ms": outcome.latency_ms,
    }
    if outcome.detail is not None:
        item["detail"] = outcome.detail
    return item
