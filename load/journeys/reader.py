"""A returning member, the most common signed-in visitor: signs up once, then reads and revalidates.

Most signed-in traffic is reads by people who are already in: their profile (`getMe`), their user resource with
its ETag (GET, then If-None-Match → 304, HEAD), their files list, and now and then a token refresh. Sign-up and
sign-in (Argon2id, the costliest work) happen once per visitor here, as they do in life.
"""

from __future__ import annotations

import random

from locust import task

from load.journeys.calls import bearer, call, etag_of
from load.journeys.member import Member


class Reader(Member):
    weight = 4
    user_id: str = ""
    etag: str = ""

    def on_start(self) -> None:
        if self.sign_up("reader"):
            me = call(self.client, "GET", "/api/v1/auth/me", name="getMe", headers=self.auth)
            self.user_id = str(me.json()["id"]) if me is not None else ""

    @task(3)
    def revalidate(self) -> None:
        """What a client with a cache does: a conditional GET, which is a 304 while nothing changed."""
        if not (self.signed_in() and self.user_id):
            return
        path = f"/api/v1/users/{self.user_id}"
        if not self.etag:
            first = call(self.client, "GET", path, name="getUser", headers=self.auth)
            self.etag = etag_of(first) if first is not None else ""
            return
        call(
            self.client,
            "GET",
            path,
            name="getUser",
            expect=(304,),
            headers=bearer(self.access_token, **{"If-None-Match": self.etag}),
        )

    @task(2)
    def profile(self) -> None:
        if self.signed_in():
            call(self.client, "GET", "/api/v1/auth/me", name="getMe", headers=self.auth)

    @task(1)
    def head(self) -> None:
        if self.signed_in() and self.user_id:
            call(self.client, "HEAD", f"/api/v1/users/{self.user_id}", name="headUser", headers=self.auth)

    @task(1)
    def files(self) -> None:
        if self.signed_in():
            call(self.client, "GET", "/api/v1/files?limit=20", name="listFiles", headers=self.auth)

    @task(1)
    def refresh(self) -> None:
        if not self.signed_in() or random.random() > 0.3:  # noqa: S311  # nosec B311
            return
        self.refresh_tokens()
