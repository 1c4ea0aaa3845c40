"""The benchmark judges each target from the measurements that ran: all of them, or the subset `--only` picks."""

from __future__ import annotations

import pytest

from load.bench import BASELINE, HEALTH, MANY, USER, main, verdicts
from load.wrk import Summary


def summary(rate: float, *, socket_errors: int = 0) -> Summary:
    return Summary(
        runs=1,
        requests=int(rate),
        requests_per_second=rate,
        p50_ms=1.0,
        p99_ms=2.0,
        socket_errors=socket_errors,
        non_2xx=0,
        load_cpu_share=0.1,
    )


def test_every_target_is_judged_against_the_baseline_of_the_same_run() -> None:
    table = {
        BASELINE.name: summary(10_000),
        HEALTH.name: summary(7_100),
        USER.name: summary(3_400),
        MANY.name: summary(5_000, socket_errors=3),
    }
    memory = {"peak_rss_mb_under_load": {HEALTH.name: 120.0, USER.name: 151.0, MANY.name: 140.0}}
    assert [(met, measured) for _, met, measured in verdicts(table, memory)] == [
        (True, "0.710"),
        (False, "0.340"),
        (False, "3 socket errors, 0 non-2xx"),
        (False, "151.0 MB peak"),
    ]


def test_a_subset_is_judged_only_on_what_it_measured() -> None:
    table = {BASELINE.name: summary(10_000), HEALTH.name: summary(6_000)}
    memory = {"peak_rss_mb_under_load": {BASELINE.name: 60.0, HEALTH.name: 130.0}}
    checks = verdicts(table, memory)
    assert [target.split(" ")[0] for target, _, _ in checks] == ["full-stack", "service"]
    assert [measured for _, _, measured in checks] == ["0.600", "130.0 MB peak"]


def test_an_unknown_name_for_only_is_refused_before_anything_starts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--only", "health,everything"])
    assert exit_info.value.code == 2
    assert "unknown everything" in capsys.readouterr().err
