"""The way out of a request: records of one iteration of the loop reach the counters and the access log together,
at its end, and no lock of the pipeline is ever held while another component's is taken."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time

from impl.platform.log_config import access_handler
from impl.platform.metrics import Metrics
from impl.platform.middleware.access_log import AccessLog
from impl.platform.middleware.answered import AnsweredRequest, AnsweredRequests
from impl.platform.middleware.metrics import RequestMetrics
from tests.impl.platform.log_capture import captured_logs


def answered_request(request_id: str, *, status: int = 200) -> AnsweredRequest:
    return AnsweredRequest(
        "GET", None, "", "", status, False, 0.002, 12, time.time(), {"request_id": request_id}, None, request_id
    )


class Recorded:
    """Stands in for the counters: remembers each batch it was handed."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    def record(self, answered: list[AnsweredRequest]) -> None:
        self.batches.append([record.request_id for record in answered])


def recorded_pipeline() -> tuple[AnsweredRequests, Recorded]:
    recorded = Recorded()
    return AnsweredRequests(metrics=recorded, access_log=None), recorded  # type: ignore[arg-type]


def test_records_of_one_iteration_are_handed_over_together_at_its_end_in_order() -> None:
    answered, recorded = recorded_pipeline()

    async def two_iterations() -> list[list[str]]:
        answered.add(answered_request("a"))
        answered.add(answered_request("b"))
        during = [list(batch) for batch in recorded.batches]
        await asyncio.sleep(0)  # the iteration ends
        answered.add(answered_request("c"))
        await asyncio.sleep(0)
        return during

    assert asyncio.run(two_iterations()) == []
    assert recorded.batches == [["a", "b"], ["c"]]


def test_outside_an_event_loop_a_record_is_handed_over_at_once() -> None:
    answered, recorded = recorded_pipeline()
    answered.add(answered_request("now"))
    assert recorded.batches == [["now"]]
    assert not answered


def test_a_flush_before_the_iteration_ends_hands_them_over_once_and_never_an_empty_batch() -> None:
    answered, recorded = recorded_pipeline()

    async def flushed_early() -> None:
        answered.add(answered_request("a"))
        answered.flush()  # a scrape: it must count every request answered so far
        await asyncio.sleep(0)

    asyncio.run(flushed_early())
    assert recorded.batches == [["a"]]


def test_records_left_by_a_loop_that_stopped_go_out_with_the_next_loops() -> None:
    answered, recorded = recorded_pipeline()
    stopped = asyncio.new_event_loop()

    def add_and_stop() -> None:
        answered.add(answered_request("left"))
        stopped.stop()  # the loop ends with this iteration, before its scheduled flush can run

    stopped.call_soon(add_and_stop)
    stopped.run_forever()
    stopped.close()
    assert recorded.batches == []

    async def add_and_yield() -> None:
        answered.add(answered_request("next"))
        await asyncio.sleep(0)

    asyncio.run(add_and_yield())
    assert recorded.batches == [["left", "next"]]


def test_the_counters_and_the_access_line_both_come_from_each_record() -> None:
    metrics = Metrics()
    answered = AnsweredRequests(metrics=RequestMetrics(metrics), access_log=AccessLog())
    with captured_logs() as logs:
        answered.add(answered_request("req-1", status=404))
        (line,) = logs.access_lines()
    assert (line["request_id"], line["status"], line["bytes_sent"], line["route"]) == ("req-1", 404, 12, None)
    labels = {"method": "GET", "route": "<unmatched>", "status": "404"}
    assert metrics.registry.get_sample_value("charter_http_requests_total", labels) == 1


def test_a_thread_that_logs_while_holding_the_handlers_lock_never_waits_for_the_pipeline() -> None:
    # The order that deadlocked: a thread (the span exporter) holds the log handler's lock and logs, while the loop
    # flushes its records into the same handler. Neither may wait for a lock the other holds.
    with captured_logs() as logs:
        handler = access_handler()
        assert handler is not None
        answered = AnsweredRequests(metrics=None, access_log=AccessLog())
        held = threading.Event()

        def exporter() -> None:
            handler.acquire()  # as logging.Handler.handle does around an emit
            try:
                held.set()
                time.sleep(0.1)  # meanwhile the records are flushed (and wait for this lock)
                logging.getLogger("opentelemetry.exporter").warning("export failed")
            finally:
                handler.release()

        logging_thread = threading.Thread(target=exporter, daemon=True)
        logging_thread.start()
        assert held.wait(5)
        # Outside a loop, add() flushes at once: the flush runs in this thread while the exporter holds the lock.
        flushing_thread = threading.Thread(target=answered.add, args=(answered_request("req-x"),), daemon=True)
        flushing_thread.start()
        logging_thread.join(5)
        flushing_thread.join(5)
        assert not logging_thread.is_alive()
        assert not flushing_thread.is_alive()
        events = [json.loads(line)["event"] for line in logs.text.splitlines()]
    assert sorted(events) == ["export failed", "request"]
