"""Steady load on a real server from a few client threads, every answer recorded for the fault tests' verdicts.

Each thread has its own keep-alive client and runs the operations of the mix in turn until stopped. An operation
is a function of a :class:`Caller`; every request it makes through ``Caller.call`` becomes one :class:`Outcome`
(the status, the headers a verdict needs, or the transport error when there was no answer at all).
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer

REQUEST_TIMEOUT = httpx.Timeout(10.0)
JOIN_SECONDS = 15.0  # longer than one request may take
PROBLEM_JSON = "application/problem+json"


@dataclass(frozen=True)
class Outcome:
    operation: str
    started: float  # time.monotonic()
    ended: float
    status: int | None  # None: no answer (the transport error is in ``error``)
    content_type: str = ""
    retry_after: str | None = None
    error: str | None = None

    @property
    def is_success(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    @property
    def is_proper_unavailable(self) -> bool:
        """A 503 as the service promises it: a problem document with Retry-After."""
        return self.status == 503 and self.content_type.startswith(PROBLEM_JSON) and self.retry_after is not None

    def __str__(self) -> str:
        answer = self.error if self.status is None else f"{self.status} {self.content_type}"
        return f"{self.operation} at {self.started:.2f}: {answer}"


class Caller:
    """One thread's client: makes requests and records each outcome."""

    def __init__(self, client: httpx.Client, load: Load) -> None:
        self.client = client
        self.load = load
        self._record = load.outcomes.append  # list.append is atomic: threads append without a lock

    def call(self, operation: str, method: str, path: str, **options: Any) -> httpx.Response | None:
        started = time.monotonic()
        key = object()
        self.load.pending[key] = (operation, started)  # dict item assignment and pop are atomic too
        try:
            response = self.client.request(method, path, **options)
        except httpx.HTTPError as error:
            self._record(Outcome(operation, started, time.monotonic(), None, error=type(error).__name__))
            return None
        finally:
            self.load.pending.pop(key, None)
        self._record(
            Outcome(
                operation,
                started,
                time.monotonic(),
                response.status_code,
                content_type=response.headers.get("content-type", ""),
                retry_after=response.headers.get("retry-after"),
            )
        )
        return response


Operation = Callable[[Caller], None]


class Load:
    """The outcomes of a running load, and the acknowledged creates (id -> email)."""

    def __init__(self) -> None:
        self.outcomes: list[Outcome] = []
        self.created: dict[str, str] = {}
        self.pending: dict[object, tuple[str, float]] = {}  # requests sent and not yet answered: (operation, started)

    def wait_for_pending(self, operation: str, *, older_than: float, younger_than: float, timeout: float) -> bool:
        """Wait until an ``operation`` request has been pending for between the two ages (seconds); False if none
        was within ``timeout``. A fault test signals then, so it surely catches one mid-way on the server."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = time.monotonic()
            if any(
                name == operation and older_than <= now - started < younger_than
                for name, started in list(self.pending.values())
            ):
                return True
            time.sleep(0.005)
        return False

    def between(self, start: float, end: float = float("inf")) -> list[Outcome]:
        """The requests that started in [start, end)."""
        return [o for o in self.outcomes if start <= o.started < end]


@contextmanager
def steady_load(
    base_url: str,
    operations: list[Operation],
    *,
    threads: int = 4,
    pause_seconds: float = 0.02,
    keep_alive: bool = True,
) -> Iterator[Load]:
    """Threads cycling through ``operations`` (each starting at a different one) until the block ends.

    Without ``keep_alive`` each request opens its own connection, so "the request got a connection" is exact.
    """
    limits = httpx.Limits() if keep_alive else httpx.Limits(max_keepalive_connections=0)
    load = Load()
    stop = threading.Event()

    def worker(offset: int) -> None:
        with httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT, limits=limits) as client:
            caller = Caller(client, load)
            for operation in itertools.islice(itertools.cycle(operations), offset, None):
                if stop.is_set():
                    return
                operation(caller)
                stop.wait(pause_seconds)  # steady, not flat out: the machine runs other work too

    workers = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(threads)]
    for thread in workers:
        thread.start()
    try:
        yield load
    finally:
        stop.set()
        for thread in workers:
            thread.join(JOIN_SECONDS)


def admin_token(base_url: str) -> str:
    response = httpx.post(
        f"{base_url}/api/v1/auth/login",
        json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD},
        timeout=REQUEST_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


def mixed_operations(*, token: str, known_user_id: str) -> list[Operation]:
    """The fault tests' mix: a probe, an authenticated read, a create, a login with its logout."""

    def health(caller: Caller) -> None:
        caller.call("health", "GET", "/health")

    def read_user(caller: Caller) -> None:
        caller.call("read_user", "GET", f"/api/v1/users/{known_user_id}", headers=bearer(token))

    def create_user(caller: Caller) -> None:
        email = f"f{uuid.uuid4().hex[:16]}@example.com"
        response = caller.call(
            "create_user", "POST", "/api/v1/users", json={"email": email, "name": "Under Load"}, headers=bearer(token)
        )
        if response is not None and response.status_code == 201:
            caller.load.created[response.json()["id"]] = email

    def login_logout(caller: Caller) -> None:
        response = caller.call(
            "login", "POST", "/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
        )
        if response is not None and response.status_code == 200:
            caller.call("logout", "POST", "/api/v1/auth/logout", headers=bearer(response.json()["access_token"]))

    return [health, read_user, create_user, login_logout]
