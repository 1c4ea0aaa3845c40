"""Count and time every HTTP request by method, route template and status (see impl/platform/metrics.py).

The route label is the template the router matched (``/api/v1/users/{user_id}``), read from the scope after the
request has been routed, never the raw path: one series per operation, whatever ids clients send. A request no route
matched is ``<unmatched>``, and a method outside HTTP's own is ``OTHER``, so a scanner cannot mint new series.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Mount
from starlette.types import Scope

from impl.platform.iteration_batch import IterationBatch
from impl.platform.metrics import Metrics, observe_many

UNMATCHED = "<unmatched>"
OTHER_METHOD = "OTHER"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def route_template(scope: Scope, *, entry_root_path: str = "") -> str:
    """The matched route's path template, or ``<unmatched>``.

    The router leaves the matched route in the scope. A route inside a mount knows only its own part of the
    template; the mount's part is what the mount added to ``root_path`` (a mount's own template already has it).
    FastAPI's router records no route for a mounted app (the docs' static assets): ``<mount>/{path}`` then.
    """
    mounted = str(scope.get("root_path", "")).removeprefix(entry_root_path)
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        return f"{mounted}/{{path}}" if mounted else UNMATCHED
    if isinstance(route, Mount):
        mounted = mounted.removesuffix(route.path)
    return mounted + template


class RequestMetrics:
    """Counts and times each request; the edge middleware calls :meth:`started` and :meth:`finished`.

    Every answer (a 500, a 504, a 413) is counted: the edge is outside the error middleware.
    """

    def __init__(self, metrics: Metrics) -> None:
        self.requests = metrics.http_requests
        self.duration = metrics.http_request_duration
        # A plain count, written to the gauge when the registry is read (and, with shared files, by the periodic
        # sampler): two locked gauge updates per request (a file write each with several workers) were most of
        # what counting cost the request itself.
        self._in_flight = 0
        metrics.track_level(metrics.http_in_flight, lambda: self._in_flight)
        # prometheus-client's labels() takes a lock and builds a key each call; the children are stable, and their
        # number is bounded (known methods x route templates x statuses), so each is looked up once.
        self._children: dict[tuple[Any, ...], tuple[Any, Any, Any]] = {}
        # The counts and times are recorded at the end of the loop's iteration, all of that iteration's at once
        # (impl/platform/iteration_batch.py); a read of the registry records them first.
        self._answered: IterationBatch[tuple[tuple[Any, Any, Any], float]] = IterationBatch(_record)
        metrics.settle_before_reads(self._answered.settle)

    def started(self) -> None:
        self._in_flight += 1

    def finished(self, scope: Scope, *, entry_root_path: str, status: int, seconds: float) -> None:
        self._in_flight -= 1
        method = scope["method"] if scope["method"] in KNOWN_METHODS else OTHER_METHOD
        # Keyed by what the labels are made of (the route object itself, by identity: routes compare by value and
        # are not hashable), so the template is worked out once per key. Bounded like the labels: the methods are
        # normalised, the routes are the app's, and a root path is the server's or a mount's.
        route = scope.get("route")
        key = (method, id(route), scope.get("root_path", ""), entry_root_path, status)
        children = self._children.get(key)
        if children is None or children[0] is not route:  # (an id is reused only once its object is gone)
            template = route_template(scope, entry_root_path=entry_root_path)
            children = self._children[key] = (
                route,
                self.requests.labels(method, template, str(status)),
                self.duration.labels(method, template),
            )
        self._answered.add((children, seconds))


def _record(answered: list[tuple[tuple[Any, Any, Any], float]]) -> None:
    # Grouped by series: one counter update per label set and a histogram's buckets updated once each, rather than
    # three locked updates per request.
    durations: dict[tuple[Any, Any], list[float]] = {}
    for (_, count, duration), seconds in answered:
        series = durations.get((count, duration))
        if series is None:
            durations[count, duration] = [seconds]
        else:
            series.append(seconds)
    for (count, duration), seconds_each in durations.items():
        count.inc(len(seconds_each))
        observe_many(duration, seconds_each)
