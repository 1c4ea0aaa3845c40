"""ReadinessProbe: every check runs, each bounded by the timeout, and a failure is reported, never raised."""

from __future__ import annotations

import asyncio
import time

import pytest

from impl.platform.readiness import ReadinessProbe

pytestmark = pytest.mark.unit


async def _up() -> None:
    return None


async def _broken() -> None:
    raise ConnectionRefusedError("connection refused")


async def _hanging() -> None:
    await asyncio.sleep(60)


def test_reports_each_check_by_name() -> None:
    probe = ReadinessProbe(timeout_seconds=1)
    probe.register("database", _up)
    probe.register("cache", _broken)

    outcomes = {outcome.name: outcome for outcome in asyncio.run(probe.run())}

    assert outcomes["database"].up
    assert outcomes["database"].detail is None
    assert not outcomes["cache"].up
    assert outcomes["cache"].detail == "ConnectionRefusedError: connection refused"


def test_a_hanging_check_is_down_after_the_timeout_and_does_not_delay_the_others() -> None:
    probe = ReadinessProbe(timeout_seconds=0.2)
    probe.register("hangs", _hanging)
    probe.register("fine", _up)

    started = time.perf_counter()
    outcomes = {outcome.name: outcome for outcome in asyncio.run(probe.run())}
    elapsed = time.perf_counter() - started

    assert not outcomes["hangs"].up
    assert outcomes["hangs"].detail == "timed out after 0.2 s"
    assert outcomes["fine"].up
    assert elapsed < 5  # bounded by the timeout, not by the 60 s sleep


def test_names_must_be_unique() -> None:
    probe = ReadinessProbe(timeout_seconds=1)
    probe.register("database", _up)
    with pytest.raises(ValueError, match="already registered"):
        probe.register("database", _up)


def test_a_shared_dependency_is_reported_but_left_out_of_the_instances_own_readiness() -> None:
    probe = ReadinessProbe(timeout_seconds=1)
    probe.register("database", _up)
    probe.register("token_blacklist", _broken, shared=True)

    everything = {outcome.name: outcome.up for outcome in asyncio.run(probe.run())}
    own = {outcome.name: outcome.up for outcome in asyncio.run(probe.run(include_shared=False))}

    assert everything == {"database": True, "token_blacklist": False}
    assert own == {"database": True}
