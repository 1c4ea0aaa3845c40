"""The generator and deprecated operations: their dates and links land in generated DEPRECATIONS, and a
deprecation the service could not announce completely (no dates, undeclared headers, no date in the docs) is refused.

The project's spec deprecates no operation yet (none is a legacy alias or superseded), so the fixture spec
tests/scripts/fixtures/deprecated.yaml carries the deprecated operations.
"""

from __future__ import annotations

import copy
import importlib
import re
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from generated.api.deprecations import DEPRECATIONS as PROJECT_DEPRECATIONS
from scripts.generate import generate_all
from scripts.generate_api import SpecError, SpecReader

FIXTURE = Path(__file__).parent / "fixtures" / "deprecated.yaml"
PROJECT_SPEC = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"


@pytest.fixture(scope="module")
def depgen(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    """The fixture spec generated into an importable package named ``depgen``; yields its deprecations module."""
    root = tmp_path_factory.mktemp("depgen")
    generate_all(FIXTURE, root / "depgen", "depgen")
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module("depgen.api.deprecations")
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == "depgen" or n.startswith("depgen.")]:
            del sys.modules[name]


def _seconds(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, tzinfo=UTC).timestamp())


def test_deprecated_operations_are_generated_with_their_dates_and_links(depgen: ModuleType) -> None:
    deprecations = depgen.DEPRECATIONS
    assert set(deprecations) == {"listLegacyWidgets", "listLegacyGadgets"}  # listWidgets is not deprecated
    widgets = deprecations["listLegacyWidgets"]
    assert (widgets.deprecated_at, widgets.sunset) == (_seconds(2026, 1, 15, 12, 30), _seconds(2027, 1, 31))
    assert widgets.deprecation_link == "https://docs.example.com/deprecations/legacy-widgets"
    assert widgets.sunset_link == "/docs#sunset-policy"
    gadgets = deprecations["listLegacyGadgets"]
    # 2026-03-01T00:00:00+02:00 (an unquoted YAML timestamp) is 2026-02-28T22:00Z.
    assert (gadgets.deprecated_at, gadgets.sunset) == (_seconds(2026, 2, 28, 22), _seconds(2026, 12, 1, 8))
    assert (gadgets.deprecation_link, gadgets.sunset_link) == (None, None)


def test_the_project_deprecations_are_what_its_spec_says() -> None:
    spec = yaml.safe_load(PROJECT_SPEC.read_text(encoding="utf-8"))
    expected = {op.operation_id: op.deprecation for op in SpecReader(spec).operations() if op.deprecation}
    assert {key: (d.deprecated_at, d.sunset) for key, d in PROJECT_DEPRECATIONS.items()} == {
        key: (d.deprecated_at, d.sunset) for key, d in expected.items()
    }


def _fixture() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
    return spec


def _with(change: dict[str, Any], path: str = "/legacy-widgets") -> dict[str, Any]:
    spec = _fixture()
    operation = spec["paths"][path]["get"]
    for key, value in change.items():
        if value is None:
            operation.pop(key, None)
        else:
            operation[key] = value
    return spec


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"x-deprecated-at": None}, "`deprecated: true` needs `x-deprecated-at`"),
        ({"x-sunset": None}, "`deprecated: true` needs `x-sunset`"),
        ({"x-deprecated-at": None, "x-sunset": None}, "needs `x-deprecated-at` and `x-sunset`"),
        ({"x-sunset": "2025-12-31"}, "`x-sunset` must come after `x-deprecated-at`"),
        ({"x-sunset": "next year"}, "`x-sunset` must be an RFC 3339 date-time"),
        ({"x-deprecated-at": "2026-01-15T12:30:00"}, "`x-deprecated-at` must be an RFC 3339 date-time"),
        ({"x-deprecated-at": datetime(2026, 1, 15)}, "needs a time zone"),  # a naive datetime: the point
        ({"x-deprecation-link": "docs/legacy"}, "`x-deprecation-link` must be an absolute http"),
        ({"x-sunset-link": "https://example.com/a b"}, "`x-sunset-link` must be an absolute http"),
        ({"description": "Deprecated; use GET /widgets."}, "must name its sunset date (2027-01-31)"),
        ({"description": None}, "must name its sunset date"),
    ],
)
def test_an_incomplete_deprecation_is_refused(change: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=f"^GET /legacy-widgets: .*{re.escape(message)}"):
        SpecReader(_with(change)).operations()


@pytest.mark.parametrize("header", ["Deprecation", "Sunset"])
def test_the_success_response_must_declare_the_announced_headers(header: str) -> None:
    spec = _fixture()
    del spec["paths"]["/legacy-widgets"]["get"]["responses"]["200"]["headers"][header]
    with pytest.raises(SpecError, match=f"must declare the headers \\['{header}'\\]"):
        SpecReader(spec).operations()


@pytest.mark.parametrize("key", ["x-deprecated-at", "x-sunset", "x-deprecation-link", "x-sunset-link"])
def test_deprecation_extensions_without_deprecated_true_are_refused(key: str) -> None:
    spec = _fixture()
    source = spec["paths"]["/legacy-widgets"]["get"]
    target = spec["paths"]["/widgets"]["get"]
    target[key] = copy.deepcopy(source[key])
    with pytest.raises(SpecError, match=re.escape(f"GET /widgets: `{key}` without `deprecated: true`")):
        SpecReader(spec).operations()


def test_deprecated_false_with_no_extensions_is_not_a_deprecation() -> None:
    spec = _fixture()
    spec["paths"]["/widgets"]["get"]["deprecated"] = False
    operations = {op.operation_id: op for op in SpecReader(spec).operations()}
    assert operations["listWidgets"].deprecation is None
    assert operations["listLegacyWidgets"].deprecation is not None
