"""Request helpers shared by the journeys: spec-named, status-checked calls, and unique test data.

Every request is named by its operationId (or ``METHOD /path`` when it is no spec operation), so Locust's
statistics map onto the spec and its `x-slo`s. A response counts as a success only with a status the journey
expects; the failure message is the status and the problem's title (never the body's variable parts), so Locust
groups failures into a few readable rows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from locust.contrib.fasthttp import FastHttpSession, ResponseContextManager


def call(
    client: FastHttpSession,
    method: str,
    path: str,
    *,
    name: str,
    expect: Iterable[int] = (200,),
    check: Callable[[ResponseContextManager], str | None] | None = None,
    **kwargs: Any,
) -> ResponseContextManager | None:
    """Send one request; the response when its status is expected (and ``check`` finds nothing wrong), else None
    and a failure in the statistics."""
    expected = tuple(expect)
    with client.request(method, path, name=name, catch_response=True, **kwargs) as entered:
        # Locust's success()/failure() have no annotations: marked through `entered` (Any), returned typed.
        response: ResponseContextManager = entered
        status = response.status_code or 0
        if status not in expected:
            entered.failure(f"{status} {_title(response)} (expected {'/'.join(map(str, expected))})")
            return None
        problem = check(response) if check is not None else None
        if problem:
            entered.failure(problem)
            return None
        entered.success()
        return response


def _title(response: ResponseContextManager) -> str:
    if not response.status_code:
        return "no response (connection error or timeout)"
    try:
        body = json.loads(response.content or b"{}")
    except ValueError:
        return ""
    return str(body.get("title", "")) if isinstance(body, dict) else ""


def etag_of(response: ResponseContextManager | None) -> str:
    """The response's ETag, or "" (a missing one then fails the conditional request that needs it, visibly)."""
    value = response.headers.get("ETag") if response is not None and response.headers is not None else None
    return value if isinstance(value, str) else ""


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def read_user(client: FastHttpSession, path: str, *, access_token: str) -> ResponseContextManager | None:
    """A user read the way a caching client does it: GET, then revalidate with If-None-Match (304), then HEAD."""
    first = call(client, "GET", path, name="getUser", headers=bearer(access_token))
    if first is None:
        return None
    revalidate = bearer(access_token, **{"If-None-Match": etag_of(first)})
    call(client, "GET", path, name="getUser", expect=(304,), headers=revalidate)
    call(client, "HEAD", path, name="headUser", headers=bearer(access_token))
    return first
