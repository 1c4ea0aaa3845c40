"""An operator's Prometheus: scrapes `GET /metrics` every 10-15 s, as a job with a 15 s scrape interval does.

Prometheus has no account and no access token: /metrics is open to anyone when the service's METRICS_PUBLIC is
on (the default with APP_ENV=test, so on the service `make load` starts); elsewhere it needs
`Authorization: Bearer <METRICS_TOKEN>`, given to Locust as ``--metrics-token`` or CHARTER_LOAD_METRICS_TOKEN.
A scrape counts as failed unless it is a 200 in the text exposition format that names
``charter_http_requests_total`` (the counter every answered request increments): a 200 with anything else in it
would leave a real Prometheus without its series.
"""

from __future__ import annotations

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser, ResponseContextManager

from load.journeys.calls import bearer, call

# What Prometheus 2.x sends: it prefers OpenMetrics and takes the classic text format (which Charter serves).
PROMETHEUS_ACCEPT = (
    "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,"
    "text/plain;version=0.0.4;q=0.3,*/*;q=0.2"
)
SCRAPE_TIMEOUT_SECONDS = "10"
EXPECTED_SERIES = "charter_http_requests_total"


def exposition_problem(content_type: str, body: bytes) -> str | None:
    """Why a 200 from /metrics is not the Prometheus text exposition, or None when it is."""
    if not content_type.startswith("text/plain"):
        return f"Content-Type {content_type!r}, not the text exposition"
    if EXPECTED_SERIES.encode() not in body:
        return f"no {EXPECTED_SERIES} in the exposition"
    return None


class Scraper(FastHttpUser):
    weight = 1
    wait_time = between(10.0, 15.0)  # a 15 s scrape interval, less the scrape's own time and Locust's jitter
    scrape_headers: dict[str, str]

    def on_start(self) -> None:
        options = self.environment.parsed_options
        token = str(getattr(options, "metrics_token", "") or "") if options else ""
        extra = {"Accept": PROMETHEUS_ACCEPT, "X-Prometheus-Scrape-Timeout-Seconds": SCRAPE_TIMEOUT_SECONDS}
        self.scrape_headers = bearer(token, **extra) if token else extra

    @task
    def scrape(self) -> None:
        call(self.client, "GET", "/metrics", name="getMetrics", headers=self.scrape_headers, check=_check)


def _check(response: ResponseContextManager) -> str | None:
    content_type = response.headers.get("Content-Type", "") if response.headers is not None else ""
    return exposition_problem(str(content_type), response.content or b"")
