"""Count and time every HTTP request by method, route template and status (see impl/platform/metrics.py).

The route label is the template the router matched (``/api/v1/users/{user_id}``), read from the scope after the
request has been routed, never the raw path: one series per operation, whatever ids clients send. A request no route
matched is ``<unmatched>``, and a method outside HTTP's own is ``OTHER``, so a scanner cannot mint new series.
"""

from __future__ import annotations

from typing import Any

from starlette.routing import Mount

from impl.platform.metrics import Metrics
from impl.platform.middleware.answered import AnsweredRequest, route_template

UNMATCHED = "<unmatched>"
OTHER_METHOD = "OTHER"
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def series_template(route: object, *, root_path: str = "", entry_root_path: str = "") -> str:
    """The route label: the whole path template of the matched route, mount included, or ``<unmatched>``.

    The router leaves the matched route in the scope. A route inside a mount knows only its own part of the
    template; the mount's part is what the mount added to ``root_path`` (a mount's own template already has it).
    FastAPI's router records no route for a mounted app (the docs' static assets): ``<mount>/{path}`` then.
    """
    mounted = root_path.removeprefix(entry_root_path)
    template = route_template(route)
    if not template:
        return f"{mounted}/{{path}}" if mounted else UNMATCHED
    if isinstance(route, Mount):
        mounted = mounted.removesuffix(route.path)
    return mounted + template


class RequestMetrics:
    """Counts and times each request the edge middleware answered. The edge calls :meth:`started` and
    :meth:`ended` around each request (the level in flight); its records reach :meth:`record` at the end of the
    loop's iteration in which they were answered (impl/platform/middleware/answered.py).

    Every answer (a 500, a 504, a 413) is counted: the edge is outside the error middleware.
    """

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics
        self.requests = metrics.http_requests
        self.duration = metrics.http_request_duration
        # prometheus-client's labels() takes a lock and builds a key each call; the children are stable, and their
        # number is bounded (known methods x route templates x statuses), so each is looked up once.
        # Each key's route (to tell a reused id) and its (counter, histogram) children.
        self._children: dict[tuple[Any, ...], tuple[Any, tuple[Any, Any]]] = {}
        # A plain count, written to the gauge when /metrics is scraped (and, with shared files, by the periodic
        # sampler): two locked gauge updates per request (a file write each with several workers) were most of
        # what counting cost the request itself.
        self.in_flight = 0
        metrics.track_level(metrics.http_in_flight, lambda: self.in_flight)

    def started(self) -> None:
        self.in_flight += 1

    def ended(self) -> None:
        self.in_flight -= 1

    def record(self, answered: list[AnsweredRequest]) -> None:
        """Counts and times these requests."""
        children = self._children
        # Grouped by series: one counter update per label set rather than one per request.
        durations: dict[tuple[Any, Any], list[float]] = {}
        for record in answered:
            method, route, root_path, entry_root_path, status = (
                record.method,
                record.route,
                record.root_path,
                record.entry_root_path,
                record.status,
            )
            method_label = method if method in KNOWN_METHODS else OTHER_METHOD
            # Nothing sent: the app failed before it answered (the error layer inside sent 500) or was cancelled.
            status_label = 500 if status is None else status
            # Keyed by what the labels are made of (the route object itself, by identity: routes compare by value
            # and are not hashable), so the template is worked out once per key. Bounded like the labels: the
            # methods are normalised, the routes are the app's, and a root path is the server's or a mount's.
            key = (method_label, id(route), root_path, entry_root_path, status_label)
            child = children.get(key)
            if child is None or child[0] is not route:  # (an id is reused only once its object is gone)
                template = series_template(route, root_path=root_path, entry_root_path=entry_root_path)
                child = children[key] = (
                    route,
                    (
                        self.requests.labels(method_label, template, str(status_label)),
                        self.duration.labels(method_label, template),
                    ),
                )
            seconds_each = durations.get(child[1])
            if seconds_each is None:
                durations[child[1]] = [record.seconds]
            else:
                seconds_each.append(record.seconds)
        for (count, duration), seconds_each in durations.items():
            count.inc(len(seconds_each))
            for seconds in seconds_each:  # prometheus-client's public API: one observation at a time
                duration.observe(seconds)
