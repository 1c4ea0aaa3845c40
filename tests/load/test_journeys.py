"""The scraper and demo journeys against a real service: each request named by its operation, and judged on what
came back (the exposition, the wait or the primes asked for), not only on its status."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from impl.app import create_app
from load.run_state import Credentials, RunState, attach
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, test_settings
from tests.live_server import LiveServer, live_server

METRICS_TOKEN = "scrape-token-for-the-journey-test"  # a test service's token


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(create_app(test_settings(tmp_path))) as running:
        yield running


@pytest.fixture
def private_metrics_server(tmp_path: Path) -> Iterator[LiveServer]:
    settings = test_settings(tmp_path, metrics_public=False, metrics_token=METRICS_TOKEN)
    with live_server(create_app(settings)) as running:
        yield running


@pytest.fixture
def environment(locust_environment: Any) -> Any:
    """The Locust environment of a run (its state attached, as the locustfile's init listener does)."""
    attach(locust_environment, RunState(admin=Credentials(ADMIN_EMAIL, ADMIN_PASSWORD)))
    return locust_environment


def _stats(environment: Any, method: str, name: str) -> tuple[int, int]:
    entry = environment.stats.get(name, method)
    return entry.num_requests, entry.num_failures


def _failures(environment: Any) -> list[str]:
    return [str(error.error) for error in environment.stats.errors.values()]


@contextmanager
def _closing(user: Any) -> Iterator[Any]:
    """The user, its connections closed afterwards (Locust closes them with its process; a test must itself)."""
    try:
        yield user
    finally:
        user.client.client.close()


def _scrape(environment: Any, url: str) -> None:
    from load.journeys.operator import Scraper

    class Target(Scraper):
        host = url

    with _closing(Target(environment)) as scraper:
        scraper.on_start()
        scraper.scrape()


def test_a_scrape_of_public_metrics_is_get_metrics_and_finds_the_exposition(
    environment: Any, server: LiveServer
) -> None:
    _scrape(environment, server.url)

    assert _stats(environment, "GET", "getMetrics") == (1, 0), _failures(environment)


def test_private_metrics_fail_the_scrape_without_the_token_and_pass_with_it(
    environment: Any, private_metrics_server: LiveServer
) -> None:
    _scrape(environment, private_metrics_server.url)
    assert _stats(environment, "GET", "getMetrics") == (1, 1)
    assert _failures(environment) == ["401 Unauthorized (expected 200)"]

    environment.parsed_options = argparse.Namespace(metrics_token=METRICS_TOKEN)
    _scrape(environment, private_metrics_server.url)
    assert _stats(environment, "GET", "getMetrics") == (2, 1)


def test_the_exposition_check_wants_the_text_format_with_the_request_counter(locust_environment: Any) -> None:
    from load.journeys.operator import exposition_problem

    counter = b"# TYPE charter_http_requests_total counter\n"
    assert exposition_problem("text/plain; version=0.0.4; charset=utf-8", counter) is None
    assert exposition_problem("application/json", counter) == "Content-Type 'application/json', not the text exposition"
    assert exposition_problem("text/plain", b"# nothing here\n") == "no charter_http_requests_total in the exposition"


@contextmanager
def _started(journey: type, environment: Any, url: str) -> Iterator[Any]:
    """One user of ``journey`` against ``url``, without think time, its ``on_start`` done; closed afterwards."""
    from locust import constant

    target = type("Target", (journey,), {"host": url, "wait_time": constant(0)})
    with _closing(target(environment)) as user:
        user.on_start()
        yield user


def test_the_demo_caller_signs_up_and_calls_the_four_demo_operations(environment: Any, server: LiveServer) -> None:
    from load.journeys.demo import DemoCaller

    with _started(DemoCaller, environment, server.url) as caller:
        caller.awaited_io()
        caller.blocking_call()
        caller.cpu_work()
        caller.describe_series()

    assert _stats(environment, "GET", "demoAsync") == (1, 0), _failures(environment)
    assert _stats(environment, "GET", "demoBlocking") == (1, 0), _failures(environment)
    assert _stats(environment, "POST", "demoCpu") == (1, 0), _failures(environment)
    assert _stats(environment, "POST", "demoStatistics") == (1, 0), _failures(environment)


def test_the_administrator_reads_the_activity_report_in_json_and_csv(environment: Any, server: LiveServer) -> None:
    from load.journeys.admin import Administrator

    with _started(Administrator, environment, server.url) as admin:
        for _ in range(4):
            admin.activity_report()

    assert _stats(environment, "GET", "usersStats") == (4, 0), _failures(environment)


def test_demo_answers_are_judged_on_the_work_they_report(locust_environment: Any) -> None:
    from load.journeys.demo import cpu_problem, demo_problem

    assert demo_problem({"mode": "async", "delay_ms": 50, "elapsed_ms": 50.2}, mode="async", delay_ms=50) is None
    assert demo_problem({"mode": "blocking", "delay_ms": 50, "elapsed_ms": 50.2}, mode="async", delay_ms=50) == (
        "mode/delay 'blocking'/50, asked 'async'/50"
    )
    assert demo_problem({"mode": "async", "delay_ms": 50, "elapsed_ms": 1.0}, mode="async", delay_ms=50) == (
        "elapsed_ms 1.0 shorter than the 50 ms asked"
    )
    assert cpu_problem({"n": 10_000, "primes": 1229, "elapsed_ms": 3.1}, n=10_000) is None
    assert cpu_problem({"n": 10_000, "primes": 1228, "elapsed_ms": 3.1}, n=10_000) == (
        "n/primes 10000/1228, expected 10000/1229"
    )
    assert cpu_problem([], n=10_000) == "not a CpuResult"


def test_a_series_answer_is_judged_on_its_count_and_mean(locust_environment: Any) -> None:
    from load.journeys.demo import series_problem

    values = [1.0, 2.0, 6.0]
    assert series_problem({"count": 3, "mean": 3.0}, values=values) is None
    assert series_problem({"count": 2, "mean": 3.0}, values=values) == "count/mean 2/3.0 for 3 values"
    assert series_problem({"count": 3, "mean": 3.1}, values=values) == "mean 3.1, expected 3.0"
    assert series_problem([], values=values) == "not SeriesStatistics"


def test_the_primes_the_demo_checks_against_are_right(locust_environment: Any) -> None:
    from impl.demo.primes import count_primes
    from load.journeys.demo import PRIMES_UP_TO

    assert {n: count_primes(n) for n in PRIMES_UP_TO} == PRIMES_UP_TO
