"""An anonymous visitor: the probes, the public keys and the docs, as browsers, monitors and load balancers do.

Listing users needs a role (admin or moderator in the spec's `x-roles`), so anonymous browsing is what the spec
leaves public; conditional GETs (If-None-Match → 304) are exercised by the signed-in journeys, on the operations
that answer 304.
"""

from __future__ import annotations

from locust import between, task
from locust.contrib.fasthttp import FastHttpUser

from load.journeys.calls import call


class Visitor(FastHttpUser):
    weight = 4
    wait_time = between(0.5, 2.0)

    @task(6)
    def health(self) -> None:
        call(self.client, "GET", "/health", name="getHealth")

    @task(2)
    def health_head(self) -> None:
        call(self.client, "HEAD", "/health", name="headHealth")

    @task(2)
    def probes(self) -> None:
        # What an orchestrator sends: liveness and readiness, GET and HEAD.
        call(self.client, "GET", "/livez", name="getLiveness")
        call(self.client, "HEAD", "/livez", name="headLiveness")
        call(self.client, "GET", "/readyz", name="getReadiness")
        call(self.client, "HEAD", "/readyz", name="headReadiness")

    @task(1)
    def public_keys(self) -> None:
        call(self.client, "GET", "/.well-known/jwks.json", name="getJwks")

    @task(1)
    def docs(self) -> None:
        # Not spec operations: reported without an SLO, named "METHOD path".
        call(self.client, "GET", "/docs", name="GET /docs")
        call(self.client, "GET", "/openapi.json", name="GET /openapi.json")
