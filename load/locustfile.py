"""`make load`: realistic, weighted journeys against Charter, judged at the end by the spec's `x-slo`s.

Journeys (weights in brackets): anonymous visitors on the probes, keys and docs [4]; returning members who read and
revalidate their profile and files [4]; file owners who upload, download (whole, revalidated, ranged) and delete
[2]; administrators who page and search users and manage them from creation to deletion [2]; newcomers who sign
up, sign in, read their profile, refresh and sign out [1]; SSE subscribers holding a bounded stream [1]; an
operator's Prometheus scraping /metrics every 10-15 s [1]; members trying the demo operations (awaited I/O, a
blocking call, CPU work) with small inputs [1]. Every request is named by its operationId (pages that are no
operation by ``METHOD path``). Where /metrics is not public, pass its token as ``--metrics-token`` (or
CHARTER_LOAD_METRICS_TOKEN).

The run's data is its own: emails carry a per-run id, and at test stop leftover files are deleted by their owners
and the run's users by the admin. When Locust quits, `load/slo.py` prints the verdict table (operation, requests,
p50/p95/p99, errors, 429s, SLO, verdict) and the exit code is 1 on any breach or any exception in a journey.

Distributed (``--processes N``, or ``--master`` with ``--worker``s): the master alone needs the admin, cleans up
(once, after every worker finished) and judges, on the numbers aggregated from every worker (load/distributed.py).

Run it through `make load` (which starts a fresh service) or directly:
``CHARTER_LOAD_ADMIN_EMAIL=... CHARTER_LOAD_ADMIN_PASSWORD=... locust -f load/locustfile.py --host http://...``
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from load import distributed, slo
from load.chart import write_chart
from load.cleanup import clean_up
from load.journeys.account import Newcomer
from load.journeys.admin import Administrator
from load.journeys.demo import DemoCaller
from load.journeys.events import EventSubscriber
from load.journeys.files import FileOwner
from load.journeys.operator import Scraper
from load.journeys.reader import Reader
from load.journeys.visitor import Visitor
from load.run_state import Credentials, RunState, attach, new_run_id, run_state

__all__ = ["Administrator", "DemoCaller", "EventSubscriber", "FileOwner", "Newcomer", "Reader", "Scraper", "Visitor"]

log = logging.getLogger("charter.load")
SPEC = Path(__file__).resolve().parent.parent / "spec" / "openapi.yaml"
Listener = TypeVar("Listener", bound=Callable[..., None])


def listener(hook: Any) -> Callable[[Listener], Listener]:
    """``@hook.add_listener`` that keeps the listener's types (Locust's EventHook.add_listener has no annotations)."""

    def register(handler: Listener) -> Listener:
        hook.add_listener(handler)
        return handler

    return register


@listener(events.init_command_line_parser)
def add_options(parser: LocustArgumentParser, **_: Any) -> None:
    group = parser.add_argument_group("Charter")
    group.add_argument("--admin-email", env_var="CHARTER_LOAD_ADMIN_EMAIL", default="", help="the admin to act as")
    group.add_argument(
        "--admin-password", env_var="CHARTER_LOAD_ADMIN_PASSWORD", default="", help="its password (prefer the env)"
    )
    group.add_argument(
        "--metrics-token",
        env_var="CHARTER_LOAD_METRICS_TOKEN",
        default="",
        help="the target's METRICS_TOKEN, for /metrics where METRICS_PUBLIC is off (prefer the env)",
    )
    group.add_argument(
        "--run-id", env_var="CHARTER_LOAD_RUN_ID", default="", help="in every email the run creates (default: random)"
    )
    group.add_argument("--slo-spec", default=str(SPEC), help="the OpenAPI document whose x-slo judge the run")
    group.add_argument("--slo-report", default="", help="also write the verdict table to this file")
    group.add_argument("--slo-chart", default="", help="also draw p95 against x-slo per operation in this SVG file")
    group.add_argument(
        "--slo-min-requests",
        type=int,
        default=slo.MIN_REQUESTS_FOR_P95,
        help="requests an operation needs for its p95 to be judged (fewer: 'not judged')",
    )
    group.add_argument(
        "--slo-errors-only", action="store_true", help="judge error shares only, no p95 (a smoke run's few requests)"
    )
    group.add_argument("--seeded-users", type=int, default=0, help="users seeded before the run (said in the verdict)")


@listener(events.init)
def on_init(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        # The master forwards the run id and the admin with the start of the test (on_test_start).
        distributed.as_worker(environment, attach(environment, RunState(admin=None)))
        return
    options = environment.parsed_options
    email, password = (options.admin_email, options.admin_password) if options else ("", "")
    if not (email and password):
        # Without an admin nothing can manage users or delete the run's accounts afterwards: refuse to start.
        raise SystemExit("load: set CHARTER_LOAD_ADMIN_EMAIL and CHARTER_LOAD_ADMIN_PASSWORD (an admin of the target)")
    state = attach(environment, RunState(admin=Credentials(email, password)))
    if options:
        state.run_id = options.run_id = options.run_id or new_run_id()
    if isinstance(environment.runner, MasterRunner):
        distributed.as_master(environment, state)
    log.info("load: run id %s (in every email this run creates)", state.run_id)


@listener(events.test_start)
def on_test_start(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if isinstance(environment.runner, WorkerRunner) and options:
        state = run_state(environment)
        state.run_id = options.run_id or state.run_id
        if options.admin_email and options.admin_password:
            state.admin = Credentials(options.admin_email, options.admin_password)


@listener(events.test_stop)
def on_test_stop(environment: Environment, **_: Any) -> None:
    if not environment.host or isinstance(environment.runner, WorkerRunner):
        return  # clean-up is the master's (or the single process's), once
    finishing = distributed.finishing_of(environment)
    if finishing is not None:
        distributed.finish_workers(environment, finishing)
    state = run_state(environment)
    cleaned = clean_up(environment.host, state)
    log.info(
        "load: cleanup deleted %d files and %d users; left: %d files, %s users",
        cleaned.files_deleted,
        cleaned.users_deleted,
        cleaned.files_left,
        "unknown" if cleaned.users_left < 0 else cleaned.users_left,
    )
    if cleaned.files_left or cleaned.users_left:
        log.warning(
            "load: data of run %s is left on %s (its emails contain the run id)", state.run_id, environment.host
        )


@listener(events.quitting)
def on_quitting(environment: Environment, **_: Any) -> None:
    if isinstance(environment.runner, WorkerRunner):
        return  # the master judges, on every worker's numbers
    options = environment.parsed_options
    operations = slo.load_spec_operations(Path(options.slo_spec if options else SPEC))
    rules = slo.Rules(
        min_requests=options.slo_min_requests if options else slo.MIN_REQUESTS_FOR_P95,
        errors_only=bool(options and options.slo_errors_only),
    )
    observed = slo.observe(environment.stats, run_state(environment).rate_limited)
    verdicts = slo.evaluate(operations, observed, rules)
    code, lines = slo.summary(verdicts, rules)
    exceptions = len(environment.runner.exceptions) if environment.runner else 0
    if exceptions:
        code = 1
        lines.append(f"FAILED: {exceptions} distinct exceptions in the journeys (see Locust's report)")
    finishing = distributed.finishing_of(environment)
    if finishing is not None:
        complete, line = distributed.tally(finishing, environment.stats.total.num_requests)
        lines.append(line)
        code = code if complete else 1
    seeded = options.seeded_users if options else 0
    data = f"data: {seeded:,} users seeded before the run" if seeded else "data: no users seeded before the run"
    text = "\n".join(["", f"SLO verdicts (x-slo in the spec; {data}):", slo.render(verdicts), "", *lines, ""])
    print(text, flush=True)
    if options and options.slo_report:
        Path(options.slo_report).write_text(text, encoding="utf-8")
    if options and options.slo_chart:
        write_chart(Path(options.slo_chart), verdicts, title=f"p95 against x-slo ({data})")
    environment.process_exit_code = code
