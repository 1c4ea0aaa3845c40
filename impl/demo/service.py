"""The `demo` tag's handlers (generated.api.demo.DemoApi): the three ways to wait without stalling the loop.

- awaited I/O (``asyncio.sleep`` stands for a database or HTTP call through an async driver): free on the loop;
- a blocking call (``time.sleep`` stands for a synchronous driver): sent to the thread pool, the loop stays free;
- CPU work (counting primes): sent to a process pool, since a thread would hold the GIL (see :mod:`cpu_pool`);
- data work (statistics of a series): the raw body goes to the process pool, where it is parsed too (see :mod:`series`).
"""

from __future__ import annotations

import asyncio
import time

from anyio import to_thread
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from starlette.requests import ClientDisconnect

from generated import models
from generated.api._support import Principal
from impl.demo.cpu_pool import CpuPool
from impl.demo.errors import BodyIncompleteError
from impl.demo.primes import count_primes
from impl.demo.series import Rejected, describe_body

STATISTICS_PATH = "/api/v1/demo/statistics"
# A million numbers in JSON take up to ~26 bytes each ("-1.2345678901234567e-150, "); the spec declares this cap.
STATISTICS_MAX_BODY_BYTES = 32 * 1024 * 1024


def _elapsed_ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


class DemoService:
    def __init__(self, *, cpu_pool: CpuPool) -> None:
        self._cpu_pool = cpu_pool

    async def demo_async(self, *, delay_ms: int, principal: Principal) -> models.DemoResult:
        started = time.perf_counter()
        await asyncio.sleep(delay_ms / 1000)
        return models.DemoResult(mode=models.Mode.async_, delay_ms=delay_ms, elapsed_ms=_elapsed_ms(started))

    async def demo_blocking(self, *, delay_ms: int, principal: Principal) -> models.DemoResult:
        started = time.perf_counter()
        # anyio's default limiter (40 threads, shared with Starlette's run_in_threadpool) bounds the threads.
        await to_thread.run_sync(time.sleep, delay_ms / 1000)
        return models.DemoResult(mode=models.Mode.blocking, delay_ms=delay_ms, elapsed_ms=_elapsed_ms(started))

    async def demo_cpu(self, *, body: models.CpuWork, principal: Principal) -> models.CpuResult:
        started = time.perf_counter()
        primes = await self._cpu_pool.run(count_primes, body.n)
        return models.CpuResult(n=body.n, primes=primes, elapsed_ms=_elapsed_ms(started))

    async def demo_statistics(self, *, request: Request, principal: Principal) -> models.SeriesStatistics:
        started = time.perf_counter()
        try:
            # Only collected here (the body limit caps it): parsing it is the job's first step, in the pool.
            body = await request.body()
        except ClientDisconnect:
            raise BodyIncompleteError from None
        outcome = await self._cpu_pool.run(describe_body, body)
        if isinstance(outcome, Rejected):
            raise RequestValidationError(outcome.errors)
        return models.SeriesStatistics.model_validate({**outcome, "elapsed_ms": _elapsed_ms(started)})
