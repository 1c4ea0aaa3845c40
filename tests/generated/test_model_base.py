"""Generated models read JSON Schema integers as the spec means them: 3.0 is one, "3" and true are not."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from generated.models import CpuWork, FilePage

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("raw", ['{"n": 1659}', '{"n": 1659.0}', '{"n": 1.659e3}'])
def test_an_integer_may_be_written_with_a_zero_fraction(raw: str) -> None:
    work = CpuWork.model_validate_json(raw)

    assert work.n == 1659
    assert type(work.n) is int


@pytest.mark.parametrize("raw", ['{"n": "1659"}', '{"n": true}', '{"n": 1659.5}', '{"n": null}'])
def test_strings_booleans_and_fractions_are_still_refused(raw: str) -> None:
    with pytest.raises(ValidationError):
        CpuWork.model_validate_json(raw)


def test_constraints_apply_to_the_converted_value() -> None:
    with pytest.raises(ValidationError, match="less than or equal to 1000000"):
        CpuWork.model_validate_json('{"n": 2000000.0}')


def test_models_without_integers_are_untouched() -> None:
    assert FilePage.model_validate({"items": [], "next": None}).items == []
