"""Copy the rate-limit headers a guard computed onto the response, whatever the handler answered.

The guard runs inside the route, before the handler; the handler may answer with a model, a Reply, a bare
Response or an error. Rather than thread headers through every one of those paths, the guard leaves them in the
request's scope state and the edge middleware adds them at ``http.response.start`` (:func:`with_rate_limits`).
"""

from __future__ import annotations

from starlette.types import Scope

RATE_LIMIT_STATE = "rate_limit_headers"

Header = tuple[bytes, bytes]


def with_rate_limits(scope: Scope, headers: list[Header]) -> list[Header]:
    """``headers`` plus each rate-limit header the guard left in the scope's state that the app did not set."""
    state = scope.get("state")
    limits = state.get(RATE_LIMIT_STATE) if isinstance(state, dict) else None
    if not limits:
        return headers
    present = {name.lower() for name, _ in headers}
    extra = [
        (name.lower().encode("latin-1"), value.encode("latin-1"))
        for name, value in limits.items()
        if name.lower().encode("latin-1") not in present
    ]
    return [*headers, *extra]
