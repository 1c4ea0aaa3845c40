"""Fixtures shared by the whole suite: a Settings on a throw-away data directory, the app built from it, a client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from impl.app import create_app
from impl.platform.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(app_env="test", data_dir=tmp_path / "data")


@pytest.fixture
def app(settings: Settings) -> FastAPI:
    return create_app(settings)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    # raise_server_exceptions=False: the client sees what a real client would (the 500 problem), not the exception.
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
