"""mypy --strict is the gate for handlers: a missing or drifted handler does not type-check against the Protocol."""

from __future__ import annotations

from pathlib import Path

import pytest
from mypy import api as mypy_api

from impl.platform.settings import PROJECT_ROOT

HEADER = """
from typing import Any

from generated import models
from generated.api import build_health_router
from generated.api._support import Principal


"""

COMPLETE = """
class Service:
    async def get_health(self) -> models.Health: raise NotImplementedError
    async def head_health(self) -> None: raise NotImplementedError
    async def get_liveness(self) -> models.Liveness: raise NotImplementedError
    async def head_liveness(self) -> None: raise NotImplementedError
    async def get_readiness(self) -> models.Readiness: raise NotImplementedError
    async def head_readiness(self) -> None: raise NotImplementedError
    async def get_health_detailed(self, *, principal: Principal) -> models.HealthDetailed: raise NotImplementedError
"""

CASES = {
    "missing handler": (
        COMPLETE.replace("    async def head_readiness(self) -> None: raise NotImplementedError\n", ""),
        "head_readiness",
    ),
    "drifted return type": (
        COMPLETE.replace("get_liveness(self) -> models.Liveness", "get_liveness(self) -> models.Health"),
        "get_liveness",
    ),
    "drifted parameters": (
        COMPLETE.replace("get_health(self)", "get_health(self, *, verbose: bool)"),
        "get_health",
    ),
}


def _mypy(tmp_path: Path, body: str) -> tuple[str, int]:
    module = tmp_path / "candidate.py"
    # The guard's type is not what these cases are about: an Any stands in for it.
    call = "\n\nguard: Any = None\nbuild_health_router(Service(), guard)\n"
    module.write_text(HEADER + body + call, encoding="utf-8")
    stdout, stderr, status = mypy_api.run(
        [
            "--config-file",
            str(PROJECT_ROOT / "pyproject.toml"),
            "--cache-dir",
            str(PROJECT_ROOT / ".mypy_cache"),
            str(module),
        ]
    )
    return stdout + stderr, status


@pytest.mark.slow
def test_a_complete_implementation_type_checks(tmp_path: Path) -> None:
    output, status = _mypy(tmp_path, COMPLETE)
    assert status == 0, output


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_mypy_rejects_an_implementation_that_drifts_from_the_protocol(tmp_path: Path, case: str) -> None:
    body, method = CASES[case]
    output, status = _mypy(tmp_path, body)
    assert status == 1, output
    assert '"HealthApi"' in output, output
    assert method in output, output
