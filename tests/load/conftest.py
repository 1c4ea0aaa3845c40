"""Fixtures for the load-test modules: real Locust objects, without Locust's process-wide gevent patching."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def locust_environment(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A real Locust Environment with a local runner (which records requests into ``environment.stats``).

    Importing Locust calls gevent's ``monkey.patch_all()`` unless LOCUST_SKIP_MONKEY_PATCH is set; the test process
    runs asyncio servers and threads, which must stay unpatched.
    """
    monkeypatch.setenv("LOCUST_SKIP_MONKEY_PATCH", "1")
    from locust.env import Environment

    environment = Environment(user_classes=[], events=None)
    environment.create_local_runner()
    yield environment
    assert environment.runner is not None
    environment.runner.quit()
