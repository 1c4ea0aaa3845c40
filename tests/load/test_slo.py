"""The SLO verdict of a Locust run: p95 and error share against each operation's `x-slo`, with 429s apart."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from load import slo
from load.run_state import RunState, attach
from scripts.generate import ROOT
from scripts.spec_slo import Slo

SPEC = ROOT / "spec" / "openapi.yaml"


def _operations(**slos: Slo) -> dict[str, slo.SpecOperation]:
    methods = {"getHealth": "GET", "login": "POST", "headHealth": "HEAD"}
    return {op: slo.SpecOperation(op, methods[op], f"/{op}", value) for op, value in slos.items()}


def _fire(environment: Any, method: str, name: str, ms: float, status: int, *, failed: bool) -> None:
    """One request, reported through Locust's own `request` event as a Locust client reports it."""
    response = requests.Response()
    response.status_code = status
    environment.events.request.fire(
        request_type=method,
        name=name,
        response_time=ms,
        response_length=0,
        response=response,
        context={},
        exception=Exception(f"{status}") if failed else None,
    )


def test_a_fast_clean_operation_meets_its_slo(locust_environment: Any) -> None:
    for ms in range(1, 101):  # 1..100 ms: Locust reports p95 as 96 ms (the 96th of 100 sorted times)
        _fire(locust_environment, "GET", "getHealth", ms, 200, failed=False)

    observed = slo.observe(locust_environment.stats, {})
    verdicts = slo.evaluate(_operations(getHealth=Slo(100, 0.0)), observed)

    assert observed[("GET", "getHealth")].requests == 100
    assert observed[("GET", "getHealth")].p95_ms == 96
    assert [(v.name, v.verdict) for v in verdicts] == [("getHealth", slo.OK)]
    assert slo.summary(verdicts)[0] == 0


def test_a_slow_p95_is_a_breach_that_says_by_how_much(locust_environment: Any) -> None:
    for ms in range(1, 101):
        _fire(locust_environment, "GET", "getHealth", ms, 200, failed=False)

    verdicts = slo.evaluate(_operations(getHealth=Slo(50, 0.01)), slo.observe(locust_environment.stats, {}))

    assert verdicts[0].verdict == slo.BREACH
    assert verdicts[0].reasons == ("p95 96 ms > 50 ms",)
    code, lines = slo.summary(verdicts)
    assert code == 1
    assert lines[-1] == "SLO BREACHED by 1 of 1 operations: getHealth"


def test_429s_are_counted_apart_and_are_not_errors(locust_environment: Any) -> None:
    state = attach(locust_environment, RunState(admin=None))
    for _ in range(95):
        _fire(locust_environment, "POST", "login", 10, 200, failed=False)
    for _ in range(4):
        _fire(locust_environment, "POST", "login", 10, 429, failed=True)
    _fire(locust_environment, "POST", "login", 10, 500, failed=True)

    observed = slo.observe(locust_environment.stats, state.rate_limited)[("POST", "login")]

    assert (observed.requests, observed.failures, observed.rate_limited, observed.errors) == (100, 5, 4, 1)
    # One real error in 100 is exactly the allowed 1 %: met. Counting the 429s as errors would make it 5 %.
    assert slo.judge(observed, Slo(1000, 0.01)) == (slo.OK, ())
    assert slo.judge(observed, Slo(1000, 0.005)) == (slo.BREACH, ("errors 1.00% > 0.50%",))
    verdicts = slo.evaluate(_operations(login=Slo(1000, 0.01)), {("POST", "login"): observed})
    assert any("4 responses were 429" in line for line in slo.summary(verdicts)[1])


def test_unexercised_operations_and_unknown_names_are_listed_without_a_verdict(locust_environment: Any) -> None:
    _fire(locust_environment, "GET", "getHealth", 5, 200, failed=False)
    _fire(locust_environment, "GET", "GET /docs", 5, 200, failed=False)
    _fire(locust_environment, "GET", "headHealth", 5, 200, failed=False)  # the right name with the wrong method

    verdicts = slo.evaluate(
        _operations(getHealth=Slo(100, 0.01), headHealth=Slo(100, 0.01)), slo.observe(locust_environment.stats, {})
    )

    assert [(v.name, v.verdict) for v in verdicts] == [
        ("getHealth", slo.NOT_JUDGED),  # one request: errors judged, p95 not
        ("headHealth", slo.NOT_EXERCISED),
        ("GET /docs", slo.NO_SLO),
        ("GET headHealth", slo.NO_SLO),
    ]
    code, lines = slo.summary(verdicts)
    assert code == 0
    assert lines[1] == "not exercised by this run (1): headHealth"


def _words(line: str) -> str:
    """A table line with its column padding squeezed to single spaces."""
    return " ".join(line.split())


def test_the_table_has_every_column_and_one_row_per_verdict(locust_environment: Any) -> None:
    for ms in [10] * 11 + [20] * 9:  # 20 requests: Locust reports p50 10 ms, p95 and p99 20 ms
        _fire(locust_environment, "GET", "getHealth", ms, 200, failed=False)

    table = slo.render(
        slo.evaluate(
            _operations(getHealth=Slo(15, 0.01), login=Slo(9000, 0.02)),
            slo.observe(locust_environment.stats, {}),
            slo.Rules(min_requests=20),
        )
    )

    header, rule, health, login = table.splitlines()
    assert _words(header) == "operation requests p50 ms p95 ms p99 ms errors 429s SLO (p95, errors) verdict"
    assert set(rule) == {"-"}
    assert _words(health) == "getHealth 20 10 20 20 0 (0.0%) 0 15 ms, 1.0% BREACH: p95 20 ms > 15 ms"
    assert _words(login) == "login 0 - - - - - 9,000 ms, 2.0% not exercised"


def test_the_project_spec_gives_every_operation_an_slo() -> None:
    operations = slo.load_spec_operations(SPEC)

    assert len(operations) >= 35
    assert operations["getHealth"].method == "GET"
    assert operations["streamEvents"].path == "/api/v1/sse/stream"
    assert all(op.slo.p95_ms > 0 and 0 <= op.slo.max_error_ratio <= 1 for op in operations.values())


def test_an_operation_without_an_slo_is_refused_by_name() -> None:
    spec = {
        "paths": {
            "/x": {
                "get": {"operationId": "getX", "x-slo": {"p95_ms": 1, "max_error_ratio": 0}},
                "post": {"operationId": "postX"},
            }
        }
    }

    with pytest.raises(ValueError, match=r"^POST /x: declare `x-slo`"):
        slo.spec_operations(spec)


def test_using_locust_objects_here_leaves_the_test_process_unpatched(locust_environment: Any) -> None:
    from gevent import monkey  # type: ignore[import-untyped]

    assert locust_environment.stats.total.num_requests == 0
    assert not monkey.is_module_patched("socket")
    assert not monkey.is_module_patched("threading")


def test_too_few_requests_for_a_p95_are_not_judged_never_met_while_errors_always_are(locust_environment: Any) -> None:
    few = slo.MIN_REQUESTS_FOR_P95 - 1
    for _ in range(few):
        _fire(locust_environment, "GET", "getHealth", 900, 200, failed=False)

    observed = slo.observe(locust_environment.stats, {})[("GET", "getHealth")]

    # Too few requests at 900 ms against a 100 ms objective: no latency verdict either way, and never "met"...
    assert slo.judge(observed, Slo(100, 0.01)) == (
        slo.NOT_JUDGED,
        (f"p95 not judged ({few} < {slo.MIN_REQUESTS_FOR_P95} requests)",),
    )
    # ...but errors are judged on any number of requests.
    assert slo.judge(slo.Observed(few, 1, 0, 900, 900, 900), Slo(100, 0.01)) == (
        slo.BREACH,
        (f"errors {1 / few:.2%} > 1.00%", f"p95 not judged ({few} < {slo.MIN_REQUESTS_FOR_P95} requests)"),
    )
    _fire(locust_environment, "GET", "getHealth", 900, 200, failed=False)
    enough = slo.observe(locust_environment.stats, {})[("GET", "getHealth")]
    assert enough.requests == slo.MIN_REQUESTS_FOR_P95
    # With one more request the p95 is judged, and breached.
    assert slo.judge(enough, Slo(100, 0.01)) == (slo.BREACH, ("p95 900 ms > 100 ms",))


def test_the_number_of_requests_a_p95_needs_is_stated_and_can_be_raised(locust_environment: Any) -> None:
    for ms in range(1, 101):
        _fire(locust_environment, "GET", "getHealth", ms, 200, failed=False)
    observed = slo.observe(locust_environment.stats, {})

    strict = slo.Rules(min_requests=500)
    verdicts = slo.evaluate(_operations(getHealth=Slo(100, 0.01)), observed, strict)

    assert [(v.verdict, v.reasons) for v in verdicts] == [(slo.NOT_JUDGED, ("p95 not judged (100 < 500 requests)",))]
    code, lines = slo.summary(verdicts, strict)
    assert code == 0
    assert lines[0] == "p95 judged only with at least 500 requests per operation"
    assert lines[-1] == "SLOs met by 0 of 1 exercised operations; 1 not judged (too few requests for a p95)"


def test_a_smoke_run_judges_errors_only_and_says_so(locust_environment: Any) -> None:
    for ms in range(1, 201):
        _fire(locust_environment, "GET", "getHealth", ms * 10, 200, failed=False)  # p95 1,900 ms: far over
    _fire(locust_environment, "POST", "login", 5, 500, failed=True)
    rules = slo.Rules(errors_only=True)

    verdicts = slo.evaluate(
        _operations(getHealth=Slo(100, 0.01), login=Slo(1000, 0.01)), slo.observe(locust_environment.stats, {}), rules
    )

    assert [(v.name, v.verdict, v.reasons) for v in verdicts] == [
        ("getHealth", slo.NOT_JUDGED, ("p95 not judged (errors only)",)),
        ("login", slo.BREACH, ("errors 100.00% > 1.00%", "p95 not judged (errors only)")),
    ]
    code, lines = slo.summary(verdicts, rules)
    assert code == 1
    assert lines[0] == "errors only: no p95 is judged in this run (too few requests for one to mean anything)"
    assert lines[-1] == "SLO BREACHED by 1 of 2 operations: login"
    clean = [v for v in verdicts if v.name == "getHealth"]
    assert slo.summary(clean, rules) == (
        0,
        [
            "errors only: no p95 is judged in this run (too few requests for one to mean anything)",
            "error shares within their SLO for all 1 operations exercised (p95 not judged)",
        ],
    )


def test_the_summary_says_how_many_operations_had_their_p95_judged(locust_environment: Any) -> None:
    for ms in range(1, slo.MIN_REQUESTS_FOR_P95 + 1):
        _fire(locust_environment, "GET", "getHealth", ms, 200, failed=False)
    _fire(locust_environment, "POST", "login", 900, 200, failed=False)

    verdicts = slo.evaluate(
        _operations(getHealth=Slo(1000, 0.01), login=Slo(1000, 0.01)), slo.observe(locust_environment.stats, {})
    )

    assert [(v.name, v.observed.requests if v.observed else 0, v.verdict) for v in verdicts] == [
        ("getHealth", slo.MIN_REQUESTS_FOR_P95, slo.OK),
        ("login", 1, slo.NOT_JUDGED),
    ]
    assert slo.summary(verdicts) == (
        0,
        [
            f"p95 judged only with at least {slo.MIN_REQUESTS_FOR_P95} requests per operation",
            "SLOs met by 1 of 2 exercised operations; 1 not judged (too few requests for a p95)",
        ],
    )
