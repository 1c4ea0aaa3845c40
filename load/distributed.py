"""A run spread over Locust processes: a master that runs no users, and workers that do (``--processes N`` on one
machine, ``--master`` / ``--worker`` on several; https://docs.locust.io/en/stable/running-distributed.html).

Each process has its own RunState; the master's is the run's. What crosses between them, and how:

- **Run id and admin**: options declared in the locustfile reach every worker with the start of the test (Locust
  forwards custom arguments then, not before), so a worker fills its state at ``test_start``; a worker on another
  machine needs neither the admin's environment variables nor the run id.
- **429s and the file ledger** ride on each statistics report (``report_to_master`` / ``worker_report``): the 429s
  as counts since the last report, the ledger whole.
- **The end**: a headless master fires ``test_stop`` *before* its workers stop, then sends them ``quit`` and waits
  only half a second for their last report. So at its ``test_stop`` the master asks every worker to finish (a
  custom message): the worker stops its users, sends a last report and then its own request count, and the master
  waits for every answer before it cleans up (once) and judges. A worker that does not answer in time leaves the
  numbers incomplete, and the run fails saying so.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from locust.env import Environment
from locust.runners import STATE_MISSING, MasterRunner, WorkerRunner

from load.run_state import RunState

log = logging.getLogger("charter.load")
FINISH, FINISHED = "charter_finish", "charter_finished"
FINISH_TIMEOUT_SECONDS = 30.0
_ATTRIBUTE = "charter_finishing"


@dataclass
class Finishing:
    """On the master: the workers asked to finish, and each one's own count of the requests it sent."""

    asked: set[str] = field(default_factory=set)
    requests_by_worker: dict[str, int] = field(default_factory=dict)

    @property
    def missing(self) -> set[str]:
        return self.asked - set(self.requests_by_worker)


def as_worker(environment: Environment, state: RunState) -> None:
    runner = environment.runner
    if not isinstance(runner, WorkerRunner):
        raise TypeError("as_worker needs a Locust worker's environment")
    events: Any = environment.events  # Locust's EventHook.add_listener has no annotations

    def on_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        state.report(data)

    def on_finish(environment: Environment, msg: Any, **_: Any) -> None:
        runner.stop()  # stops the users; a no-op when they stopped already
        last: dict[str, Any] = {}
        events.report_to_master.fire(client_id=runner.client_id, data=last)
        runner.send_message("stats", last)  # what Locust's own last report sends, then our tally after it
        runner.send_message(FINISHED, {"requests": state.requests})
        log.info("load: worker %s finished: %d requests sent", runner.client_id, state.requests)

    events.report_to_master.add_listener(on_report)
    runner.register_message(FINISH, on_finish)


def as_master(environment: Environment, state: RunState) -> Finishing:
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        raise TypeError("as_master needs a Locust master's environment")
    finishing = Finishing()
    events: Any = environment.events

    def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        state.absorb(client_id, data)

    def on_finished(environment: Environment, msg: Any, **_: Any) -> None:
        finishing.requests_by_worker[str(msg.node_id)] = int(msg.data["requests"])

    events.worker_report.add_listener(on_worker_report)
    runner.register_message(FINISHED, on_finished)
    setattr(environment, _ATTRIBUTE, finishing)
    return finishing


def finishing_of(environment: Environment) -> Finishing | None:
    """The master's record of its workers' last answers; None outside a master."""
    finishing = getattr(environment, _ATTRIBUTE, None)
    return finishing if isinstance(finishing, Finishing) else None


def finish_workers(environment: Environment, finishing: Finishing, timeout: float = FINISH_TIMEOUT_SECONDS) -> None:
    """Ask every connected worker to finish and wait (cooperatively: the master keeps receiving) for each answer."""
    runner = environment.runner
    if not isinstance(runner, MasterRunner):
        raise TypeError("finish_workers needs a Locust master's environment")
    for worker in runner.clients.all:
        if worker.state != STATE_MISSING and worker.id not in finishing.asked:
            finishing.asked.add(worker.id)
            runner.send_message(FINISH, None, client_id=worker.id)
    deadline = time.monotonic() + timeout
    while finishing.missing and time.monotonic() < deadline:
        time.sleep(0.05)  # gevent's under Locust (it patches the process): the master keeps receiving meanwhile
    if finishing.missing:
        log.error("load: no final numbers from %s within %g s", ", ".join(sorted(finishing.missing)), timeout)


def tally(finishing: Finishing, aggregated: int) -> tuple[bool, str]:
    """Whether the master's aggregated request count is complete (every worker answered, and their own counts add
    up to it), and the line that says so."""
    if not finishing.asked:
        # Stopped from the web UI: Locust had stopped (and forgotten) its workers before the master's test_stop.
        return True, f"distributed: the workers had stopped before the end; {aggregated:,} requests, not cross-checked"
    counts = [finishing.requests_by_worker[w] for w in sorted(finishing.requests_by_worker)]
    total = sum(counts)
    line = (
        f"distributed: {len(counts)} workers counted {total:,} requests ({' + '.join(f'{c:,}' for c in counts)}); "
        f"the master aggregated {aggregated:,}"
    )
    if finishing.missing:
        return False, f"{line}; FAILED: no final numbers from {len(finishing.missing)} worker(s)"
    if total != aggregated:
        return False, f"{line}; FAILED: the numbers judged are incomplete"
    return True, line
