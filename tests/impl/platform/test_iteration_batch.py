"""Work gathered during one iteration of the event loop is done together, once, at the iteration's end."""

from __future__ import annotations

import asyncio

import pytest

from impl.platform.iteration_batch import IterationBatch

pytestmark = pytest.mark.unit


def test_items_of_one_iteration_are_settled_together_at_its_end_in_order() -> None:
    settled: list[list[str]] = []
    batch: IterationBatch[str] = IterationBatch(settled.append)

    async def one_iteration_then_the_next() -> list[list[str]]:
        batch.add("a")
        batch.add("b")
        during = [list(items) for items in settled]
        await asyncio.sleep(0)  # the iteration ends: the settling scheduled with the first item ran first
        batch.add("c")
        await asyncio.sleep(0)
        return during

    during = asyncio.run(one_iteration_then_the_next())
    assert during == []
    assert settled == [["a", "b"], ["c"]]


def test_outside_an_event_loop_an_item_is_settled_at_once() -> None:
    settled: list[list[int]] = []
    batch: IterationBatch[int] = IterationBatch(settled.append)
    batch.add(1)
    assert settled == [[1]]
    assert not batch


def test_settling_early_hands_over_what_waits_and_the_scheduled_settling_finds_nothing() -> None:
    settled: list[list[int]] = []
    batch: IterationBatch[int] = IterationBatch(settled.append)

    async def settle_early() -> None:
        batch.add(1)
        assert batch
        batch.settle()  # a reader that must see everything so far
        assert not batch
        await asyncio.sleep(0)

    asyncio.run(settle_early())
    assert settled == [[1]]  # once, and never an empty batch


def test_items_left_by_a_loop_that_stopped_are_settled_with_the_next_loops() -> None:
    settled: list[list[str]] = []
    batch: IterationBatch[str] = IterationBatch(settled.append)

    stopped = asyncio.new_event_loop()

    def add_and_stop() -> None:
        batch.add("left")
        stopped.stop()  # the loop ends with this iteration, before its scheduled settling can run

    stopped.call_soon(add_and_stop)
    stopped.run_forever()
    stopped.close()
    assert settled == []

    async def add_and_yield(item: str) -> None:
        batch.add(item)
        await asyncio.sleep(0)

    asyncio.run(add_and_yield("next"))
    assert settled == [["left", "next"]]
