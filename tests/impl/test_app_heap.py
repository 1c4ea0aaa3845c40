"""The serving process freezes what start-up made, so full garbage collections stop re-examining it."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi.testclient import TestClient

from impl.app import create_app
from tests.conftest import test_settings


def test_the_serving_process_freezes_its_start_up_heap(tmp_path: Path) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(test_settings(tmp_path / "data"), freeze_start_up_heap=True)) as client:
            frozen = gc.get_freeze_count()
            assert client.get("/health").status_code == 200
        # Everything start-up made, the app's routes and models among them, is in the permanent generation.
        assert frozen > 10_000
    finally:
        gc.unfreeze()  # this process makes many apps: give the collector its objects back


def test_an_app_made_elsewhere_freezes_nothing(tmp_path: Path) -> None:
    gc.unfreeze()
    with TestClient(create_app(test_settings(tmp_path / "data"))) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0
