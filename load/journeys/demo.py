"""A member trying the demo operations: awaited I/O, a blocking call in the thread pool, CPU work in the process pool.

Signs up once (as the reader does), then calls `demoAsync` and `demoBlocking` with short delays (10-100 ms; the
spec allows up to 2000) and `demoCpu` with small `n` (up to 100 000; the spec allows a million), so the journey
measures the service's dispatch to the loop, the threads and the processes, not long sleeps or long sieves. An
answer counts as failed unless it reports the work asked for: the mode and delay, or the right count of primes.
The first `demoCpu` of a service starts its worker processes, which that request's time includes. `demoStatistics`
describes a series of 1,000 to 10,000 random values (the spec allows a million) and must report their count and
mean.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable

from locust import task
from locust.contrib.fasthttp import ResponseContextManager

from load.journeys.calls import call
from load.journeys.member import Member

DELAYS_MS = (10, 50, 100)
# n → the number of primes up to n, to check the answer against.
PRIMES_UP_TO = {10_000: 1229, 50_000: 5133, 100_000: 9592}


def demo_problem(body: object, *, mode: str, delay_ms: int) -> str | None:
    """Why a demoAsync/demoBlocking answer is not the wait that was asked for, or None when it is."""
    if not isinstance(body, dict):
        return "not a DemoResult"
    if body.get("mode") != mode or body.get("delay_ms") != delay_ms:
        return f"mode/delay {body.get('mode')!r}/{body.get('delay_ms')!r}, asked {mode!r}/{delay_ms}"
    elapsed = body.get("elapsed_ms")
    if not isinstance(elapsed, int | float) or elapsed < delay_ms * 0.9:
        return f"elapsed_ms {elapsed!r} shorter than the {delay_ms} ms asked"
    return None


def cpu_problem(body: object, *, n: int) -> str | None:
    """Why a demoCpu answer is not the count of primes up to ``n``, or None when it is."""
    if not isinstance(body, dict):
        return "not a CpuResult"
    if body.get("n") != n or body.get("primes") != PRIMES_UP_TO[n]:
        return f"n/primes {body.get('n')!r}/{body.get('primes')!r}, expected {n}/{PRIMES_UP_TO[n]}"
    return None


SERIES_SIZES = (1_000, 10_000)


def series_problem(body: object, *, values: list[float]) -> str | None:
    """Why a demoStatistics answer does not describe ``values``, or None when it does."""
    if not isinstance(body, dict):
        return "not SeriesStatistics"
    mean = body.get("mean")
    if body.get("count") != len(values) or not isinstance(mean, int | float):
        return f"count/mean {body.get('count')!r}/{mean!r} for {len(values)} values"
    if not math.isclose(mean, statistics.fmean(values), rel_tol=1e-9, abs_tol=1e-9):
        return f"mean {mean!r}, expected {statistics.fmean(values)!r}"
    return None


def _checking(judge: Callable[[object], str | None]) -> Callable[[ResponseContextManager], str | None]:
    def check(response: ResponseContextManager) -> str | None:
        try:
            body = response.json()
        except ValueError:
            return "no JSON body"
        return judge(body)

    return check


class DemoCaller(Member):
    weight = 1

    def on_start(self) -> None:
        self.sign_up("demo")

    @task
    def awaited_io(self) -> None:
        self.wait_on("async", "demoAsync")

    @task
    def blocking_call(self) -> None:
        self.wait_on("blocking", "demoBlocking")

    @task
    def cpu_work(self) -> None:
        if not self.signed_in():
            return
        n = random.choice(list(PRIMES_UP_TO))  # noqa: S311  # nosec B311
        call(
            self.client,
            "POST",
            "/api/v1/demo/cpu",
            name="demoCpu",
            json={"n": n},
            headers=self.auth,
            check=_checking(lambda body: cpu_problem(body, n=n)),
        )

    @task
    def describe_series(self) -> None:
        if not self.signed_in():
            return
        size = random.choice(SERIES_SIZES)  # noqa: S311  # nosec B311
        values = [random.gauss(100.0, 15.0) for _ in range(size)]  # nosec B311
        call(
            self.client,
            "POST",
            "/api/v1/demo/statistics",
            name="demoStatistics",
            json={"values": values, "percentiles": [5, 50, 95], "bins": 20},
            headers=self.auth,
            check=_checking(lambda body: series_problem(body, values=values)),
        )

    def wait_on(self, mode: str, operation: str) -> None:
        if not self.signed_in():
            return
        delay_ms = random.choice(DELAYS_MS)  # noqa: S311  # nosec B311
        call(
            self.client,
            "GET",
            f"/api/v1/demo/{mode}?delay_ms={delay_ms}",
            name=operation,
            headers=self.auth,
            check=_checking(lambda body: demo_problem(body, mode=mode, delay_ms=delay_ms)),
        )
