"""An administrator: browses the user list (pages, search), manages users end to end, exports, checks health.

Signs in as the run's admin (the service's first admin: ADMIN_EMAIL/ADMIN_PASSWORD, passed to Locust as
CHARTER_LOAD_ADMIN_EMAIL/CHARTER_LOAD_ADMIN_PASSWORD). Users it creates carry the run id in their email and are
deleted at the end of each cycle (and by cleanup if a cycle broke off). They get no password: an admin-created
account without one cannot sign in, and skipping the hash keeps this journey about the users resource.
"""

from __future__ import annotations

import random
import uuid
from urllib.parse import urlsplit

from locust import task

from load.journeys.calls import bearer, call, etag_of, read_user
from load.journeys.data import LAST_NAMES, unique_email
from load.journeys.member import Member
from load.run_state import run_state

MERGE_PATCH = "application/merge-patch+json"


class Administrator(Member):
    weight = 2

    def on_start(self) -> None:
        self.credentials = run_state(self.environment).admin
        if self.credentials is None:
            raise RuntimeError("the admin journey needs CHARTER_LOAD_ADMIN_EMAIL and CHARTER_LOAD_ADMIN_PASSWORD")
        self.sign_in()

    @task(3)
    def browse(self) -> None:
        if not self.signed_in():
            return
        sort = random.choice(["-created_at", "email", "name"])  # noqa: S311  # nosec B311
        page = call(self.client, "GET", f"/api/v1/users?limit=50&sort={sort}", name="listUsers", headers=self.auth)
        following = page.json().get("next") if page is not None else None
        for _ in range(random.randint(1, 4)):  # noqa: S311  # nosec B311 - a few pages deep, then stop
            if not following:
                break
            self.think()
            page = call(self.client, "GET", _local(following), name="listUsers", headers=self.auth)
            following = page.json().get("next") if page is not None else None
        self.think()
        call(
            self.client,
            "GET",
            f"/api/v1/users?q={run_state(self.environment).run_id}&active=true&limit=20",
            name="listUsers",
            headers=self.auth,
        )
        # A name search: on a seeded table (make load SEED_USERS=...) it matches thousands of rows.
        name = random.choice(LAST_NAMES)  # noqa: S311  # nosec B311
        call(self.client, "GET", f"/api/v1/users?q={name}&limit=20", name="listUsers", headers=self.auth)

    @task(3)
    def manage_a_user(self) -> None:
        """Create → read → revalidate (304) → HEAD → OPTIONS → PATCH → PUT → DELETE, with If-Match throughout."""
        if not self.signed_in():
            return
        body = {"email": unique_email(run_state(self.environment).run_id, "managed"), "name": "Load managed"}
        created = call(
            self.client,
            "POST",
            "/api/v1/users",
            name="createUser",
            expect=(201,),
            json=body,
            headers=bearer(self.access_token, **{"Idempotency-Key": str(uuid.uuid4())}),
        )
        if created is None:
            return
        path = f"/api/v1/users/{created.json()['id']}"
        self.think()
        read = read_user(self.client, path, access_token=self.access_token)
        if read is None:
            return
        etag = etag_of(read)
        call(self.client, "OPTIONS", path, name="optionsUser", expect=(204,), headers=self.auth)
        self.think()
        patched = call(
            self.client,
            "PATCH",
            path,
            name="updateUser",
            json={"name": "Load managed (renamed)"},
            headers=bearer(self.access_token, **{"If-Match": etag, "Content-Type": MERGE_PATCH}),
        )
        etag = etag_of(patched) or etag
        self.think()
        replacement = {"email": body["email"], "name": "Load managed (replaced)", "role": "user", "active": False}
        replaced = call(
            self.client,
            "PUT",
            path,
            name="replaceUser",
            json=replacement,
            headers=bearer(self.access_token, **{"If-Match": etag}),
        )
        etag = etag_of(replaced) or etag
        self.think()
        call(
            self.client,
            "DELETE",
            path,
            name="deleteUser",
            expect=(204,),
            headers=bearer(self.access_token, **{"If-Match": etag}),
        )

    @task(1)
    def export(self) -> None:
        if self.signed_in():
            call(self.client, "GET", "/api/v1/users/export?format=ndjson", name="exportUsers", headers=self.auth)

    @task(1)
    def activity_report(self) -> None:
        if self.signed_in():
            form = random.choice(("json", "csv"))  # noqa: S311  # nosec B311
            call(
                self.client,
                "GET",
                f"/api/v1/users/stats?period=week&format={form}",
                name="usersStats",
                headers=self.auth,
            )

    @task(1)
    def detailed_health(self) -> None:
        if self.signed_in():
            call(self.client, "GET", "/health/detailed", name="getHealthDetailed", headers=self.auth)


def _local(url: str) -> str:
    """The path and query of a `next` link, so the request goes to the host under test."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path
