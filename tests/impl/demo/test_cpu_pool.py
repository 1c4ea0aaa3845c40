"""The bounded process pool: lazy start, a hard bound answered at once with 503, recovery from a dead worker."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from impl.demo.cpu_pool import WAITING_PER_WORKER, CpuPool
from impl.demo.errors import WorkerPoolBusyError, WorkerPoolUnavailableError
from impl.demo.primes import count_primes
from tests.impl.demo.jobs import exit_abruptly, run_until_released

pytestmark = pytest.mark.slow  # every pool spawns worker processes


def test_the_pool_starts_no_process_until_the_first_job_and_a_job_runs_in_a_worker() -> None:
    async def scenario() -> None:
        pool = CpuPool(workers=1)
        assert not pool.started
        try:
            assert await pool.run(count_primes, 1000) == 168
            assert pool.started
            assert pool.in_flight == 0
        finally:
            await pool.close()
        assert not pool.started

    asyncio.run(scenario())


def test_the_bound_is_the_workers_plus_four_waiting_per_worker_by_default() -> None:
    assert CpuPool(workers=2).capacity == 2 + 2 * WAITING_PER_WORKER
    assert CpuPool(workers=3, max_waiting=1).capacity == 4
    with pytest.raises(ValueError, match="at least one worker"):
        CpuPool(workers=0)


def test_a_job_beyond_the_bound_is_refused_at_once_with_retry_after_and_the_admitted_ones_finish() -> None:
    async def scenario() -> None:
        pool = CpuPool(workers=1, max_waiting=1)
        try:
            admitted = [asyncio.create_task(pool.run(count_primes, 100_000)) for _ in range(2)]
            await asyncio.sleep(0)  # both tasks take their slot (admission is synchronous) and await their job
            assert pool.in_flight == 2
            with pytest.raises(WorkerPoolBusyError) as refused:
                await pool.run(count_primes, 10)
            assert refused.value.status == 503
            assert refused.value.headers == {"Retry-After": "1"}
            assert await asyncio.gather(*admitted) == [9592, 9592]
            assert await pool.run(count_primes, 10) == 4  # the slots are free again
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_a_caller_that_gives_up_frees_no_slot_until_its_running_job_has_finished(tmp_path: Path) -> None:
    async def until(condition: Callable[[], bool]) -> None:
        async with asyncio.timeout(30):
            # A poll, not an Event: the condition changes in a worker process or the executor's thread.
            while not condition():  # noqa: ASYNC110
                await asyncio.sleep(0.01)

    async def scenario() -> None:
        pool = CpuPool(workers=1, max_waiting=0)
        try:
            caller = asyncio.create_task(pool.run(run_until_released, str(tmp_path)))
            await until((tmp_path / "started").exists)
            caller.cancel()
            with pytest.raises(asyncio.CancelledError):
                await caller
            # The worker is still busy with it, so the bound still counts it.
            assert pool.in_flight == 1
            with pytest.raises(WorkerPoolBusyError):
                await pool.run(count_primes, 10)
            (tmp_path / "release").touch()
            await until(lambda: pool.in_flight == 0)
            assert await pool.run(count_primes, 10) == 4
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_a_worker_that_dies_is_a_503_and_the_next_job_gets_a_fresh_pool() -> None:
    async def scenario() -> None:
        pool = CpuPool(workers=1)
        try:
            with pytest.raises(WorkerPoolUnavailableError) as died:
                await pool.run(exit_abruptly, 3)
            assert died.value.status == 503
            assert died.value.headers == {"Retry-After": "1"}
            assert pool.in_flight == 0
            assert await pool.run(count_primes, 1000) == 168
        finally:
            await pool.close()

    asyncio.run(scenario())


def test_a_closed_pool_starts_afresh_for_a_later_job_as_a_lifespan_run_twice_needs() -> None:
    async def scenario() -> None:
        pool = CpuPool(workers=1)
        try:
            assert await pool.run(count_primes, 10) == 4
            await pool.close()
            assert await pool.run(count_primes, 100) == 25
        finally:
            await pool.close()

    asyncio.run(scenario())
