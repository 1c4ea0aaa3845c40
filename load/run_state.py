"""What one Locust run knows beyond Locust's own statistics: its id, the admin it acts as, its files, its 429s.

Created by the `init` listener and kept on the Environment (the object every user and listener shares), so that
nothing outlives the run and several runs in one process (the tests) never mix.
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # importing Locust monkey-patches the process for gevent; only Locust's own run may do that
    from locust.env import Environment

_ATTRIBUTE = "charter_run"


@dataclass(frozen=True)
class Credentials:
    email: str
    password: str


@dataclass
class RunState:
    admin: Credentials | None
    # In every email the run creates: cleanup finds the run's users by it (and only them).
    run_id: str = field(default_factory=lambda: f"load-{secrets.token_hex(4)}")
    # Files uploaded and not yet deleted, with who owns them: only the owner may delete a file.
    files: dict[str, Credentials] = field(default_factory=dict)
    # 429s by (method, request name), reported apart from errors.
    rate_limited: Counter[tuple[str, str]] = field(default_factory=Counter)

    def on_request(self, request_type: str, name: str, response: Any = None, **_: Any) -> None:
        """Locust `request` listener: count the 429s (Locust itself counts them as plain failures)."""
        if response is not None and getattr(response, "status_code", None) == 429:
            self.rate_limited[(request_type, name)] += 1


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
