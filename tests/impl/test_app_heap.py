"""The serving process tunes its garbage collector: what start-up made is frozen, and young collections are rarer."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.wiring.lifespan import YOUNG_COLLECTION_THRESHOLD
from tests.conftest import test_settings


@pytest.fixture
def collector_restored() -> Iterator[None]:
    """This process makes many apps: give the collector its objects and its thresholds back afterwards."""
    thresholds = gc.get_threshold()
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("collector_restored")
def test_the_serving_process_freezes_its_start_up_heap_and_collects_the_young_less_often(tmp_path: Path) -> None:
    gc.set_threshold(700, 10, 10)  # CPython's defaults, as a serving process starts with (a test may have changed them)
    with TestClient(create_app(test_settings(tmp_path / "data"), tune_collector=True)) as client:
        frozen = gc.get_freeze_count()
        thresholds = gc.get_threshold()
        assert client.get("/health").status_code == 200
    # Everything start-up made, the app's routes and models among them, is in the permanent generation.
    assert frozen > 10_000
    assert thresholds == (YOUNG_COLLECTION_THRESHOLD, 10, 10)


@pytest.mark.usefixtures("collector_restored")
def test_an_app_made_elsewhere_leaves_the_collector_as_it_was(tmp_path: Path) -> None:
    before = gc.get_threshold()
    with TestClient(create_app(test_settings(tmp_path / "data"))) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0
        assert gc.get_threshold() == before
