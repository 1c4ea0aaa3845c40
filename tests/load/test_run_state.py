"""A worker's run state reaches the master with its statistics: 429s as counts since the last report (so adding them
never counts one twice), the ledger of files not yet deleted whole (so the master always holds each worker's
latest)."""

from __future__ import annotations

from typing import Any

from load.run_state import Credentials, RunState

OWNER = Credentials("load-1-files-a@load.example.com", "a password of the owner")


def _report(worker: RunState) -> dict[str, Any]:
    data: dict[str, Any] = {}
    worker.report(data)
    return data


def test_429s_from_several_workers_and_reports_add_up_once_each_on_the_master() -> None:
    master, first, second = RunState(admin=None), RunState(admin=None), RunState(admin=None)
    first.rate_limited[("POST", "login")] += 2
    second.rate_limited[("POST", "login")] += 1
    second.rate_limited[("POST", "uploadFile")] += 4

    master.absorb("w1", _report(first))
    master.absorb("w2", _report(second))
    first.rate_limited[("POST", "login")] += 1
    master.absorb("w1", _report(first))
    master.absorb("w1", _report(first))  # nothing new since: adds nothing

    assert master.rate_limited == {("POST", "login"): 4, ("POST", "uploadFile"): 4}


def test_the_master_holds_each_workers_latest_file_ledger() -> None:
    master, worker = RunState(admin=None), RunState(admin=None)
    worker.files = {"f1": OWNER, "f2": OWNER}
    master.absorb("w1", _report(worker))
    master.absorb("w2", {"charter_run": {"rate_limited": [], "files": {"f9": [OWNER.email, OWNER.password]}}})

    del worker.files["f1"]  # its journey deleted it
    master.absorb("w1", _report(worker))

    assert master.files == {"f2": OWNER, "f9": OWNER}


def test_a_report_without_the_runs_part_changes_nothing() -> None:
    master = RunState(admin=None)

    master.absorb("w1", {"stats": []})

    assert (master.files, master.rate_limited) == ({}, {})


def test_every_request_is_counted_and_429s_apart() -> None:
    state = RunState(admin=None)

    class Answer:
        def __init__(self, status_code: int) -> None:
            self.status_code = status_code

    for status in (200, 429, 500, 429):
        state.on_request("POST", "login", Answer(status))
    state.on_request("GET", "getHealth", None)  # no response at all (connection refused)

    assert state.requests == 5
    assert state.rate_limited == {("POST", "login"): 2}


def test_the_master_fails_a_run_whose_workers_counts_do_not_add_up_to_what_it_judged(locust_environment: Any) -> None:
    from load.distributed import Finishing, tally  # after the fixture: importing Locust must not patch the process

    answered = Finishing(asked={"w1", "w2"}, requests_by_worker={"w1": 600, "w2": 634})
    silent = Finishing(asked={"w1", "w2"}, requests_by_worker={"w1": 600})

    assert tally(answered, 1234) == (
        True,
        "distributed: 2 workers counted 1,234 requests (600 + 634); the master aggregated 1,234",
    )
    assert tally(answered, 1200) == (
        False,
        "distributed: 2 workers counted 1,234 requests (600 + 634); the master aggregated 1,200; "
        "FAILED: the numbers judged are incomplete",
    )
    assert tally(silent, 600) == (
        False,
        "distributed: 1 workers counted 600 requests (600); the master aggregated 600; "
        "FAILED: no final numbers from 1 worker(s)",
    )
    assert tally(Finishing(), 50)[0] is True  # stopped from the web UI: said, not failed
