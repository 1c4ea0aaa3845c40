"""A bounded process pool for CPU-bound work, so that work never runs on (or GIL-starves) the event loop.

Why processes: pure-Python CPU work holds the GIL, so a thread would stall the loop almost as badly as running it
inline. Why *spawn*: the app has threads (uvicorn, anyio's pool, the Redis listener) and a running event loop; a
forked child would inherit their locks in whatever state they were in. Spawned workers import only what the job
needs, and they start on demand: an app that never runs a CPU job never starts a process.

Why bounded: the executor's own queue is unbounded, so under overload jobs would wait ever longer while every
waiting request holds a connection. Instead at most ``workers`` jobs run and ``max_waiting`` wait; the next caller
gets :class:`WorkerPoolBusyError` (503 with Retry-After) at once. A slot is freed when the job *finishes* in its
worker, not when its caller gives up, so a client that disconnects cannot make room for more work than the bound.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

import anyio

from impl.demo.errors import WorkerPoolBusyError, WorkerPoolUnavailableError

A = TypeVar("A")
T = TypeVar("T")
# Jobs allowed to wait per worker: enough to absorb a burst, few enough that the last one still answers promptly.
WAITING_PER_WORKER = 4


class CpuPool:
    """Runs picklable top-level functions in worker processes; ``close()`` (in the lifespan) stops them."""

    def __init__(self, *, workers: int, max_waiting: int | None = None) -> None:
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self.workers = workers
        self.capacity = workers + (workers * WAITING_PER_WORKER if max_waiting is None else max_waiting)
        self._executor: ProcessPoolExecutor | None = None
        # Slots are released by the executor's management thread (a future's done-callback), hence a lock.
        self._lock = threading.Lock()
        self._in_flight = 0

    @property
    def started(self) -> bool:
        """Whether the executor exists (its processes start with the first jobs)."""
        return self._executor is not None

    @property
    def in_flight(self) -> int:
        """Jobs admitted and not yet finished: running plus waiting."""
        with self._lock:
            return self._in_flight

    async def run(self, function: Callable[[A], T], argument: A) -> T:
        """``function(argument)`` in a worker process; 503 at once when the pool is full or broken."""
        self._admit()
        try:
            executor = self._executor_for_jobs()
            job = executor.submit(function, argument)
        except BaseException as error:
            self._release()
            if isinstance(error, BrokenProcessPool):
                self._discard(executor)
                raise WorkerPoolUnavailableError("The worker pool broke and is being replaced; retry.") from error
            raise
        job.add_done_callback(self._release)
        try:
            # Cancelling the await (client gone) cancels a job still waiting; a running one finishes, holding its slot.
            return await asyncio.wrap_future(job)
        except BrokenProcessPool as error:
            self._discard(executor)
            raise WorkerPoolUnavailableError("A worker process died during the job; retry.") from error

    async def close(self) -> None:
        """Drop waiting jobs, let running ones finish and stop the workers.

        A later job starts a fresh pool: an app's lifespan may run more than once (tests), and uvicorn has finished
        every request before the lifespan's shutdown, so no job arrives in between in a real server.
        """
        executor, self._executor = self._executor, None
        if executor is not None:
            # shutdown(wait=True) joins processes: a blocking call, so not on the loop.
            await anyio.to_thread.run_sync(lambda: executor.shutdown(wait=True, cancel_futures=True))

    def _admit(self) -> None:
        with self._lock:
            if self._in_flight >= self.capacity:
                raise WorkerPoolBusyError(capacity=self.capacity)
            self._in_flight += 1

    def _release(self, _: object = None) -> None:
        with self._lock:
            self._in_flight -= 1

    def _executor_for_jobs(self) -> ProcessPoolExecutor:
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=multiprocessing.get_context("spawn")
            )
        return self._executor

    def _discard(self, executor: ProcessPoolExecutor) -> None:
        # A broken executor refuses every later job, so the next job starts a fresh one. The broken one has already
        # terminated its workers when it noticed the death; shutting it down only joins its management thread.
        if self._executor is executor:
            self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)
