"""Every operation must carry a well-formed `x-slo`: the generator refuses the spec otherwise, naming the operation."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.generate import ROOT
from scripts.spec_reader import SpecError, SpecReader
from scripts.spec_slo import Slo, read_slo

FIXTURE = Path(__file__).parent / "fixtures" / "items.yaml"


def _fixture_with(slo: Any) -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    operation = spec["paths"]["/stock"]["get"]
    if slo is None:
        del operation["x-slo"]
    else:
        operation["x-slo"] = slo
    return spec


def test_a_well_formed_slo_is_read_as_numbers() -> None:
    assert read_slo({"x-slo": {"p95_ms": 250, "max_error_ratio": 0}}) == Slo(p95_ms=250.0, max_error_ratio=0.0)
    assert read_slo({"x-slo": {"p95_ms": 0.5, "max_error_ratio": 1}}) == Slo(p95_ms=0.5, max_error_ratio=1.0)


@pytest.mark.parametrize(
    ("slo", "message"),
    [
        (None, "declare `x-slo`"),
        ({"p95_ms": 100}, "declare `x-slo`"),
        ({"p95_ms": 100, "max_error_ratio": 0.01, "p99_ms": 200}, "declare `x-slo`"),
        ("fast", "declare `x-slo`"),
        ({"p95_ms": 0, "max_error_ratio": 0.01}, "`x-slo.p95_ms` must be a positive number"),
        ({"p95_ms": "100", "max_error_ratio": 0.01}, "`x-slo.p95_ms` must be a positive number"),
        ({"p95_ms": True, "max_error_ratio": 0.01}, "`x-slo.p95_ms` must be a positive number"),
        ({"p95_ms": 100, "max_error_ratio": 1.5}, "`x-slo.max_error_ratio` must be a number from 0 to 1"),
        ({"p95_ms": 100, "max_error_ratio": -0.1}, "`x-slo.max_error_ratio` must be a number from 0 to 1"),
    ],
)
def test_the_generator_refuses_a_missing_or_malformed_slo(slo: Any, message: str) -> None:
    with pytest.raises(SpecError, match=re.escape(f"GET /stock: {message}")):
        SpecReader(_fixture_with(slo)).operations()


def test_the_operation_carries_its_slo() -> None:
    operations = SpecReader(_fixture_with({"p95_ms": 80, "max_error_ratio": 0.001})).operations()

    stock = next(op for op in operations if op.operation_id == "getStock")
    assert stock.slo == Slo(p95_ms=80.0, max_error_ratio=0.001)


def test_every_operation_of_the_project_spec_has_an_slo() -> None:
    spec = yaml.safe_load((ROOT / "spec" / "openapi.yaml").read_text(encoding="utf-8"))

    operations = SpecReader(spec).operations()

    assert len(operations) >= 35
    assert all(op.slo is not None and op.slo.p95_ms > 0 for op in operations)
