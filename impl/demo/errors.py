"""Domain exceptions of the demo package; the platform's problem handler turns them into problem+json."""

from __future__ import annotations

from impl.platform.problems import ProblemError

# A CPU job takes well under a second, so a slot is usually free again by then.
RETRY_AFTER_SECONDS = 1


class WorkerPoolBusyError(ProblemError):
    """Every worker is busy and the queue behind them is full: waiting longer would only grow latency."""

    status = 503

    def __init__(self, *, capacity: int) -> None:
        super().__init__(
            f"The CPU worker pool is saturated ({capacity} jobs running or queued); retry after a second.",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


class WorkerPoolUnavailableError(ProblemError):
    """A worker process died under the job (killed, out of memory): the pool is replaced for the next one."""

    status = 503

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


class BodyIncompleteError(ProblemError):
    """The client went away before its body ended: nobody reads this answer, but it keeps the error log clean."""

    status = 400

    def __init__(self) -> None:
        super().__init__("The client disconnected before the request body ended.")
