"""One fault under steady load: a healthy baseline, a dependency killed, an outage watched through /readyz, the
dependency restarted, and the time until the service is ready and answers every operation of the mix again.

The app is never restarted: recovery must come from the service itself (reconnecting pools, listeners, breakers).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx2 as httpx

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, bearer
from tests.faults.load import REQUEST_TIMEOUT, Load, Outcome, mixed_operations, steady_load

BASELINE_SECONDS = 1.5
OUTAGE_SECONDS = 3.0
RECOVERY_BOUND_SECONDS = 15.0
AFTER_RECOVERY_SECONDS = 1.5
POLL_SECONDS = 0.2


@dataclass
class FaultRun:
    load: Load
    killed_at: float
    restarted_at: float
    readiness_in_outage: list[Outcome] = field(default_factory=list)
    ready_again_at: float | None = None
    recovered_at: float | None = None  # every operation of the mix answered 2xx again
    stopped_at: float = 0.0

    def unexpected(self) -> list[Outcome]:
        """Answers the service must never give: anything but 2xx or a proper 503, and no answer at all."""
        return [o for o in self.load.outcomes if not (o.is_success or o.is_proper_unavailable)]

    def failed_after_recovery(self) -> list[Outcome]:
        assert self.recovered_at is not None
        return [o for o in self.load.between(self.recovered_at) if not o.is_success]


def _readiness(client: httpx.Client) -> Outcome:
    started = time.monotonic()
    try:
        response = client.get("/readyz")
    except httpx.HTTPError as error:
        return Outcome("readyz", started, time.monotonic(), None, error=type(error).__name__)
    return Outcome(
        "readyz",
        started,
        time.monotonic(),
        response.status_code,
        content_type=response.headers.get("content-type", ""),
        retry_after=response.headers.get("retry-after"),
    )


def _wait_until(condition: Callable[[], bool], deadline: float) -> float | None:
    """The moment ``condition`` first held, or None if it did not before ``deadline``."""
    while time.monotonic() < deadline:
        if condition():
            return time.monotonic()
        time.sleep(POLL_SECONDS)
    return None


def _every_operation_works(client: httpx.Client, *, token: str, known_user_id: str, load: Load) -> bool:
    """The mix once, in order, from a fresh client; a create it makes counts as acknowledged like the load's."""
    try:
        if client.get(f"/api/v1/users/{known_user_id}", headers=bearer(token)).status_code != 200:
            return False
        email = f"r{uuid.uuid4().hex[:16]}@example.com"
        created = client.post("/api/v1/users", json={"email": email, "name": "Recovery"}, headers=bearer(token))
        if created.status_code == 201:
            load.created[created.json()["id"]] = email
        else:
            return False
        login = client.post("/api/v1/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
        if login.status_code != 200:
            return False
        return client.post("/api/v1/auth/logout", headers=bearer(login.json()["access_token"])).status_code == 204
    except httpx.HTTPError:
        return False


def fault_under_load(
    *,
    base_url: str,
    token: str,
    known_user_id: str,
    kill: Callable[[], None],
    restart: Callable[[], None],
) -> FaultRun:
    operations = mixed_operations(token=token, known_user_id=known_user_id)
    with (
        httpx.Client(base_url=base_url, timeout=REQUEST_TIMEOUT) as probe,
        steady_load(base_url, operations) as load,
    ):
        time.sleep(BASELINE_SECONDS)
        killed_at = time.monotonic()
        kill()
        readiness: list[Outcome] = []
        while time.monotonic() < killed_at + OUTAGE_SECONDS:
            readiness.append(_readiness(probe))
            time.sleep(POLL_SECONDS)
        restarted_at = time.monotonic()
        restart()
        run = FaultRun(load=load, killed_at=killed_at, restarted_at=restarted_at, readiness_in_outage=readiness)
        deadline = restarted_at + RECOVERY_BOUND_SECONDS
        run.ready_again_at = _wait_until(lambda: _readiness(probe).status == 200, deadline)
        run.recovered_at = _wait_until(
            lambda: _every_operation_works(probe, token=token, known_user_id=known_user_id, load=load), deadline
        )
        if run.recovered_at is not None:
            time.sleep(AFTER_RECOVERY_SECONDS)  # the load goes on: every answer from now on must be a success
        run.stopped_at = time.monotonic()
    return run


def assert_recovered(run: FaultRun, *, dependency: str) -> None:
    """The verdict every fault test shares: ready again and every operation working within the bound of the
    dependency's return, the load's reads and writes served after that, and not one of them failing."""
    returned = f"{RECOVERY_BOUND_SECONDS} s after {dependency} came back"
    assert run.ready_again_at is not None, f"/readyz not 200 within {returned}"
    assert run.recovered_at is not None, f"operations still failing {returned}"
    after = run.load.between(run.recovered_at)
    served = {o.operation for o in after}
    assert served >= {"read_user", "create_user"}, f"the load made no read or no create after recovery: {served}"
    failed = run.failed_after_recovery()
    assert failed == [], describe(failed, since=run.restarted_at)


def describe(outcomes: list[Outcome], *, since: float) -> str:
    """A readable list for assertion messages (times relative to ``since``), at most 20 lines."""
    lines = [f"+{o.started - since:.2f}s {o.operation}: {o.status or o.error} {o.content_type}" for o in outcomes]
    more = f"\n... and {len(lines) - 20} more" if len(lines) > 20 else ""
    return "\n".join(lines[:20]) + more
