"""load/wrk.py: wrk's --latency output (real runs, saved in fixtures/), medians and ratios of interleaved runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from load.wrk import WrkResult, milliseconds, parse_wrk, summarise

FIXTURES = Path(__file__).parent / "fixtures"


def sample(name: str) -> str:
    return (FIXTURES / f"wrk_{name}.txt").read_text(encoding="utf-8")


def test_a_clean_run_gives_its_rate_percentiles_and_count() -> None:
    result = parse_wrk(sample("ok"))
    assert result == WrkResult(
        requests=2859, requests_per_second=2730.53, p50_ms=21.69, p99_ms=115.76, socket_errors=0, non_2xx=0
    )
    assert result.clean


def test_non_2xx_answers_are_counted_and_make_the_run_unclean() -> None:
    result = parse_wrk(sample("non_2xx"))
    assert (result.requests, result.non_2xx, result.socket_errors) == (5168, 5168, 0)
    assert not result.clean


def test_socket_errors_of_every_kind_are_summed() -> None:
    # Recorded with `ulimit -n 200` and -c 1000: the connections beyond the limit fail to connect.
    result = parse_wrk(sample("socket_errors"))
    assert (result.socket_errors, result.non_2xx, result.requests) == (804, 0, 7928)
    assert not result.clean
    assert (
        parse_wrk(
            sample("ok").replace("Requests/sec", "  Socket errors: connect 1, read 2, write 3, timeout 4\nRequests/sec")
        ).socket_errors
        == 10
    )


def test_output_without_figures_is_refused() -> None:
    with pytest.raises(ValueError, match="completed wrk --latency run"):
        parse_wrk(sample("refused"))
    without_latency = "\n".join(line for line in sample("ok").splitlines() if "%" not in line or "Stdev" in line)
    with pytest.raises(ValueError, match="completed wrk --latency run"):
        parse_wrk(without_latency)


def test_a_run_that_completed_no_request_is_not_clean() -> None:
    nothing = WrkResult(requests=0, requests_per_second=0.0, p50_ms=0.0, p99_ms=0.0, socket_errors=0, non_2xx=0)
    assert not nothing.clean


@pytest.mark.parametrize(
    ("text", "expected"),
    [("850.00us", 0.85), ("21.69ms", 21.69), ("2.00s", 2000.0), ("1.50m", 90_000.0), ("1.00h", 3_600_000.0)],
)
def test_wrk_durations_in_milliseconds(text: str, expected: float) -> None:
    assert milliseconds(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["", "12", "1.2ks", "ms"])
def test_other_text_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="not a wrk duration"):
        milliseconds(text)


def run(rate: float, p50: float, p99: float, *, requests: int = 100, errors: int = 0, non_2xx: int = 0) -> WrkResult:
    return WrkResult(
        requests=requests, requests_per_second=rate, p50_ms=p50, p99_ms=p99, socket_errors=errors, non_2xx=non_2xx
    )


def test_summary_takes_each_median_on_its_own_and_sums_errors() -> None:
    # The slowest rate comes with the best p99: each column's median is its own, not one run's row.
    summary = summarise([run(900, 5, 80), run(1000, 4, 90, errors=2), run(1200, 3, 70, non_2xx=1)])
    assert (summary.runs, summary.requests) == (3, 300)
    assert (summary.requests_per_second, summary.p50_ms, summary.p99_ms) == (1000, 4, 80)
    assert (summary.socket_errors, summary.non_2xx) == (2, 1)


def test_an_even_number_of_runs_has_the_mean_of_the_middle_two_as_median() -> None:
    assert summarise([run(100, 1, 10), run(300, 3, 30)]).requests_per_second == 200


def test_ratios_are_to_the_baseline_rate() -> None:
    baseline = summarise([run(10_000, 1, 5)])
    service = summarise([run(7_500, 2, 9), run(7_000, 2, 9), run(8_000, 2, 9)])
    assert service.ratio_to(baseline) == 0.75
    assert baseline.ratio_to(baseline) == 1.0


def test_nothing_to_summarise_is_an_error() -> None:
    with pytest.raises(ValueError, match="no runs"):
        summarise([])
