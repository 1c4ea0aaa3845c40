"""A newcomer's whole account life: sign-up → sign-in → profile (with a conditional GET) → refresh → sign-out.

Each iteration is a new account, as real sign-ups are; its email holds the run id, so cleanup deletes it. Sign-up,
sign-in and the password change hash with Argon2id, by far the most expensive work the service does.
"""

from __future__ import annotations

import random

from locust import task

from load.journeys.calls import call, read_user
from load.journeys.data import new_password
from load.journeys.member import Member
from load.run_state import Credentials


class Newcomer(Member):
    weight = 1

    @task
    def account_life(self) -> None:
        if not self.sign_up("newcomer"):
            return
        self.think()
        me = call(self.client, "GET", "/api/v1/auth/me", name="getMe", headers=self.auth)
        if me is None:
            return
        user_id = me.json()["id"]
        self.think()
        self.read_own_user(user_id)
        self.think()
        patch = {"name": f"Load newcomer {random.randint(1, 999)}"}  # noqa: S311  # nosec B311
        headers = self.auth | {"Content-Type": "application/merge-patch+json"}
        call(self.client, "PATCH", "/api/v1/auth/me", name="updateMe", json=patch, headers=headers)
        self.think()
        if not self.refresh_tokens():
            return
        if random.random() < 0.2:  # noqa: S311  # nosec B311  (one newcomer in five changes their password)
            self.think()
            self.change_password()
        self.think()
        call(self.client, "POST", "/api/v1/auth/logout", name="logout", expect=(204,), headers=self.auth)

    def read_own_user(self, user_id: str) -> None:
        """The user resource as its owner: GET, revalidation with If-None-Match (304), HEAD."""
        path = f"/api/v1/users/{user_id}"
        read_user(self.client, path, access_token=self.access_token)

    def change_password(self) -> None:
        if self.credentials is None:
            return
        password = new_password()
        body = {"current_password": self.credentials.password, "new_password": password}
        if (
            call(
                self.client,
                "POST",
                "/api/v1/auth/me/password",
                name="changePassword",
                expect=(204,),
                json=body,
                headers=self.auth,
            )
            is not None
        ):
            self.credentials = Credentials(self.credentials.email, password)
