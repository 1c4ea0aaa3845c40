"""Graceful shutdown: draining begins once, farewells run once and in bounded time, SIGTERM begins it first."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
from types import FrameType

import pytest

from impl.platform.log_context import begin_request_context, end_request_context
from impl.platform.shutdown import GracefulShutdown, ShuttingDownError, chain_signal_handlers
from tests.impl.platform.log_capture import captured_logs

pytestmark = pytest.mark.unit


def test_beginning_wakes_waiters_and_runs_every_farewell_once() -> None:
    async def scenario() -> tuple[list[str], bool]:
        shutdown = GracefulShutdown()
        said: list[str] = []

        async def farewell() -> None:
            said.append("goodbye")

        shutdown.on_shutdown(farewell)
        waiter = asyncio.create_task(shutdown.wait())
        await asyncio.sleep(0)
        assert not waiter.done()
        assert not shutdown.draining
        await shutdown.begin()
        await shutdown.begin()  # a second signal, or the lifespan after the signal
        await asyncio.wait_for(waiter, timeout=1)
        return said, shutdown.draining

    said, draining = asyncio.run(scenario())

    assert said == ["goodbye"]
    assert draining


def test_a_failing_farewell_is_logged_and_the_others_still_run(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> list[str]:
        shutdown = GracefulShutdown()
        said: list[str] = []

        async def broken() -> None:
            raise RuntimeError("socket already gone")

        async def working() -> None:
            said.append("closed")

        shutdown.on_shutdown(broken)
        shutdown.on_shutdown(working)
        await shutdown.begin()
        return said

    with caplog.at_level(logging.ERROR, logger="charter.shutdown"):
        said = asyncio.run(scenario())

    assert said == ["closed"]
    assert "a shutdown farewell failed" in caplog.text


def test_a_farewell_that_hangs_is_cut_off_at_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> float:
        shutdown = GracefulShutdown(farewell_timeout_seconds=0.2)

        async def hangs() -> None:
            await asyncio.sleep(60)

        shutdown.on_shutdown(hangs)
        started = asyncio.get_running_loop().time()
        await shutdown.begin()
        return asyncio.get_running_loop().time() - started

    with caplog.at_level(logging.WARNING, logger="charter.shutdown"):
        took = asyncio.run(scenario())

    assert took < 2
    assert "took longer than" in caplog.text


def test_sigterm_begins_draining_and_still_reaches_the_servers_own_handler() -> None:
    server_saw: list[int] = []

    def server_handler(received: int, frame: FrameType | None) -> None:
        server_saw.append(received)

    async def scenario() -> bool:
        shutdown = GracefulShutdown()
        original = signal.signal(signal.SIGTERM, server_handler)
        try:
            restore = chain_signal_handlers(shutdown, asyncio.get_running_loop())
            os.kill(os.getpid(), signal.SIGTERM)
            await asyncio.wait_for(shutdown.wait(), timeout=2)
            restore()
            assert signal.getsignal(signal.SIGTERM) is server_handler
        finally:
            signal.signal(signal.SIGTERM, original)
        return shutdown.draining

    assert asyncio.run(scenario())
    assert server_saw == [signal.SIGTERM]


def test_outside_the_main_thread_nothing_is_installed() -> None:
    before = signal.getsignal(signal.SIGTERM)
    outcome: list[object] = []

    def in_thread() -> None:
        async def scenario() -> None:
            restore = chain_signal_handlers(GracefulShutdown(), asyncio.get_running_loop())
            restore()

        asyncio.run(scenario())
        outcome.append(signal.getsignal(signal.SIGTERM))

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(5)

    assert outcome == [before]


def test_readiness_goes_down_once_draining_begins() -> None:
    async def scenario() -> tuple[bool, bool]:
        shutdown = GracefulShutdown()
        await shutdown.accepting()  # up: returns normally
        await shutdown.begin()
        try:
            await shutdown.accepting()
        except ShuttingDownError:
            return True, shutdown.draining
        return False, shutdown.draining

    assert asyncio.run(scenario()) == (True, True)


def test_a_new_serving_period_starts_undrained_in_its_own_loop() -> None:
    shutdown = GracefulShutdown()

    async def serve_and_stop() -> bool:
        shutdown.start()
        was_draining = shutdown.draining
        await shutdown.begin()
        return was_draining

    # Two lifespans, two event loops (as a test client runs them): each starts ready, each drains.
    assert asyncio.run(serve_and_stop()) is False
    assert asyncio.run(serve_and_stop()) is False
    assert shutdown.draining


def test_a_sigterm_that_arrives_during_a_request_leaves_its_context_out_of_the_shutdown_lines() -> None:
    # A signal handler runs in whatever the main thread was running: here, a request with its log context.
    def server_handler(received: int, frame: FrameType | None) -> None:
        pass

    async def farewell() -> None:
        logging.getLogger("charter.streams").info("shutting down: ending 0 event stream(s)")

    async def scenario() -> None:
        shutdown = GracefulShutdown()
        shutdown.on_shutdown(farewell)
        original = signal.signal(signal.SIGTERM, server_handler)
        try:
            restore = chain_signal_handlers(shutdown, asyncio.get_running_loop())
            begin_request_context(request_id="req-last", trace_id=None)
            os.kill(os.getpid(), signal.SIGTERM)  # handled in this request's context
            end_request_context()
            await asyncio.wait_for(shutdown.wait(), timeout=2)
            await asyncio.sleep(0.05)  # the farewells run
            restore()
        finally:
            signal.signal(signal.SIGTERM, original)

    with captured_logs() as logs:
        asyncio.run(scenario())
        lines = [line for line in logs.lines() if line["event"].startswith("shutting down")]
    assert len(lines) == 1
    assert "request_id" not in lines[0]
