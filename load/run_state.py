"""What one Locust run knows beyond Locust's own statistics: its id, the admin it acts as, its files, its 429s.

Created by the `init` listener and kept on the Environment (the object every user and listener shares), so that
nothing outlives the run and several runs in one process (the tests) never mix. In a distributed run each process
has its own: a worker's 429 counts and file ledger travel to the master with its statistics (``report`` on the
worker, ``absorb`` on the master; see load/distributed.py).
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing Locust monkey-patches the process for gevent; only Locust's own run may do that
    from locust.env import Environment

_ATTRIBUTE = "charter_run"
REPORT_KEY = "charter_run"  # this run's part of a worker's statistics report


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


def new_run_id() -> str:
    return f"load-{secrets.token_hex(4)}"


@dataclass
class RunState:
    admin: Credentials | None
    # In every email the run creates: cleanup finds the run's users by it (and only them).
    run_id: str = field(default_factory=new_run_id)
    # Files uploaded and not yet deleted, with who owns them: only the owner may delete a file.
    files: dict[str, Credentials] = field(default_factory=dict)
    # 429s by (method, request name), reported apart from errors.
    rate_limited: Counter[tuple[str, str]] = field(default_factory=Counter)
    # Requests this process sent, counted apart from Locust's statistics: a worker's own tally, which the master
    # compares with what it aggregated.
    requests: int = 0
    # On the master: each worker's latest file ledger, by worker id.
    worker_files: dict[str, dict[str, Credentials]] = field(default_factory=dict)

    def on_request(self, request_type: str, name: str, response: Any = None, **_: Any) -> None:
        """Locust `request` listener: count every request, and the 429s apart (Locust counts them as failures)."""
        self.requests += 1
        if response is not None and getattr(response, "status_code", None) == 429:
            self.rate_limited[(request_type, name)] += 1

    def report(self, data: dict[str, Any]) -> None:
        """A worker's part of its statistics report: the 429s since the last report, and its whole file ledger
        (small: only files whose journey has not deleted them yet)."""
        data[REPORT_KEY] = {
            "rate_limited": [[method, name, count] for (method, name), count in self.rate_limited.items()],
            "files": {file_id: [owner.email, owner.password] for file_id, owner in self.files.items()},
        }
        self.rate_limited.clear()

    def absorb(self, worker: str, data: dict[str, Any]) -> None:
        """On the master: add a worker's report to the run's numbers."""
        part = data.get(REPORT_KEY)
        if not isinstance(part, dict):
            return
        for method, name, count in part.get("rate_limited", []):
            self.rate_limited[(str(method), str(name))] += int(count)
        ledger = part.get("files", {})
        self.worker_files[worker] = {str(k): Credentials(str(v[0]), str(v[1])) for k, v in ledger.items()}
        self.files = {file_id: owner for files in self.worker_files.values() for file_id, owner in files.items()}


def attach(environment: Environment, state: RunState) -> RunState:
    setattr(environment, _ATTRIBUTE, state)
    hook: Any = environment.events.request  # Locust's EventHook.add_listener has no annotations
    hook.add_listener(state.on_request)
    return state


def run_state(environment: Environment) -> RunState:
    state = getattr(environment, _ATTRIBUTE, None)
    if not isinstance(state, RunState):
        raise RuntimeError("the Charter load run was not initialised (load/locustfile.py's init listener)")
    return state
