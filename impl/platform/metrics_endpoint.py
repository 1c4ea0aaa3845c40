"""``GET /metrics`` (generated.api.observability.ObservabilityApi) and who may read it.

The operation is public in the spec's terms (no access token, no role: Prometheus has neither), but unless
``METRICS_PUBLIC`` is true its answer needs ``Authorization: Bearer <METRICS_TOKEN>``, compared in constant time.
Without a configured token nobody can read it: a missing token is never "anyone".
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import ClassVar

from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from starlette.requests import Request
from starlette.responses import Response

from impl.platform.metrics import Metrics
from impl.platform.middleware.answered import AnsweredRequests
from impl.platform.problems import ProblemError

REALM = 'Bearer realm="charter-metrics"'


class MetricsUnauthorizedError(ProblemError):
    status: ClassVar[int] = 401

    def __init__(self) -> None:
        super().__init__(
            "The metrics need the metrics token (Authorization Bearer).", headers={"WWW-Authenticate": REALM}
        )


class MetricsEndpoint:
    """``answered``: the app's pipeline of answered requests, flushed first so a scrape counts every request
    answered so far (they are otherwise counted at the end of the loop's iteration)."""

    def __init__(self, *, metrics: Metrics, answered: AnsweredRequests | None = None) -> None:
        self._metrics = metrics
        self._answered = answered

    async def get_metrics(self) -> Response:
        if self._answered is not None:
            self._answered.flush()
        return Response(await self._metrics.exposition(), media_type=CONTENT_TYPE_PLAIN_0_0_4)


def metrics_access(*, token: str | None) -> Callable[[Request], Awaitable[None]]:
    """A route dependency admitting only ``Authorization: Bearer <token>``; 401 otherwise (always, with no token)."""
    expected = token.encode("utf-8") if token else None

    async def require_metrics_token(request: Request) -> None:
        scheme, _, sent = request.headers.get("authorization", "").partition(" ")
        offered = sent.strip().encode("utf-8")
        if expected is None or scheme.lower() != "bearer" or not hmac.compare_digest(offered, expected):
            raise MetricsUnauthorizedError

    return require_metrics_token
