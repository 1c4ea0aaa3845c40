"""The signed-in visitor's base: a fresh account of its own (sign-up and sign-in), and a token kept valid."""

from __future__ import annotations

import random
import time
from urllib.parse import urlencode

from locust import between
from locust.contrib.fasthttp import FastHttpUser

from load.journeys.calls import bearer, call
from load.journeys.data import new_password, unique_email
from load.run_state import Credentials, run_state

# Sign in again when this share of the access token's life has passed, so long runs never send expired tokens.
RENEW_AFTER = 0.8


class Member(FastHttpUser):
    """A user with an account of their own; subclasses add what they do once signed in."""

    abstract = True
    wait_time = between(0.5, 2.0)  # think time between steps of a journey

    credentials: Credentials | None = None
    access_token: str = ""
    refresh_token: str = ""
    _renew_at: float = 0.0

    def sign_up(self, kind: str) -> bool:
        """Register a new account (its email holds the run id) and sign in to it."""
        credentials = Credentials(unique_email(run_state(self.environment).run_id, kind), new_password())
        body = {"email": credentials.email, "name": f"Load {kind}", "password": credentials.password}
        if call(self.client, "POST", "/api/v1/auth/register", name="register", expect=(202,), json=body) is None:
            return False
        self.credentials = credentials
        return self.sign_in()

    def sign_in(self) -> bool:
        """Sign in with JSON (most clients) or, one time in four, with the OAuth2 password form (the docs' way)."""
        if self.credentials is None:
            return False
        # `random` picks the traffic mix here and in the journeys; it never makes a secret.
        if random.random() < 0.25:  # noqa: S311  # nosec B311
            form = {"grant_type": "password", "username": self.credentials.email, "password": self.credentials.password}
            response = call(
                self.client,
                "POST",
                "/api/v1/auth/token",
                name="issueToken",
                data=urlencode(form),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            body = {"email": self.credentials.email, "password": self.credentials.password}
            response = call(self.client, "POST", "/api/v1/auth/login", name="login", json=body)
        if response is None:
            return False
        self.keep(response.json())
        return True

    def keep(self, pair: dict[str, object]) -> None:
        self.access_token, self.refresh_token = str(pair["access_token"]), str(pair["refresh_token"])
        lifetime = float(str(pair["expires_in"]))
        self._renew_at = time.monotonic() + RENEW_AFTER * lifetime

    def refresh_tokens(self) -> bool:
        """Trade the refresh token for a new pair (rotation) and keep it; False when that failed (counted)."""
        pair = call(
            self.client,
            "POST",
            "/api/v1/auth/refresh",
            name="refreshTokens",
            json={"refresh_token": self.refresh_token},
        )
        if pair is None:
            return False
        self.keep(pair.json())
        return True

    def signed_in(self) -> bool:
        """True with a usable access token, signing in again first when the current one is near its end."""
        if self.access_token and time.monotonic() < self._renew_at:
            return True
        return self.credentials is not None and self.sign_in()

    def think(self) -> None:
        """Pause between the steps of a journey, as a person does (``wait_time``); stopping may end it here."""
        self.wait()  # type: ignore[no-untyped-call]  # Locust's User.wait has no annotations

    @property
    def auth(self) -> dict[str, str]:
        return bearer(self.access_token)
