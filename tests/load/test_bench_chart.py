"""The benchmark's chart: per measurement a bar at its ratio to bare FastAPI on a log scale, dashed lines at the
baseline and at the raw ASGI ceiling, a tick at a row's target, the bar red when it misses it; well-formed SVG."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

from load import bench, bench_chart
from scripts.live_service import ROOT

SVG = "{http://www.w3.org/2000/svg}"


def _row(requests_per_second: float, ratio: float) -> dict[str, Any]:
    return {"requests_per_second": requests_per_second, "ratio_to_baseline": ratio}


def _report(**table: dict[str, Any]) -> dict[str, Any]:
    return {
        "when": "2026-12-08T05:00:00+00:00",
        "rounds": 2,
        "seconds": 5.0,
        "load_generator": "wrk <1 thread>",
        "load_average_after": [3.5, 3.0, 2.0],
        "table": table,
    }


REPORT = _report(
    **{
        bench.RAW.name: _row(6000, 2.5),
        bench.BASELINE.name: _row(2400, 1.0),
        bench.HEALTH.name: _row(1800, 0.75),
        bench.USER.name: _row(600, 0.25),
        bench.CREATE.name: _row(2.4, 0.001),
    }
)


def _bars(svg: str) -> dict[str, tuple[float, str]]:
    """Each bar's title → (its right end, its colour)."""
    root = ElementTree.fromstring(svg)  # noqa: S314  # the SVG this test itself made
    bars = {}
    for rect in root.iter(f"{SVG}rect"):
        title = rect.find(f"{SVG}title")
        if title is not None and title.text is not None:
            bars[title.text] = (float(rect.attrib["x"]) + float(rect.attrib["width"]), rect.attrib["fill"])
    return bars


def _dashed_lines(svg: str) -> list[float]:
    root = ElementTree.fromstring(svg)  # noqa: S314  # the SVG this test itself made
    return [float(line.attrib["x1"]) for line in root.iter(f"{SVG}line") if "stroke-dasharray" in line.attrib]


def test_each_measurement_is_a_bar_at_its_ratio_on_a_log_scale_with_both_references() -> None:
    svg = bench_chart.render_svg(REPORT, ceiling=bench.RAW.name, targets=bench.RATIO_TARGETS)
    bars = _bars(svg)

    health = bars["0.75× FastAPI · 0.3× raw · 1,800 req/s"]
    baseline = bars["1× FastAPI · 0.4× raw · 2,400 req/s"]
    raw = bars["2.5× FastAPI · 1× raw · 6,000 req/s"]
    create = bars["0.001× FastAPI · 0.0004× raw · 2 req/s"]
    left = bench_chart.LABEL
    # Log scale: a decade is the same width wherever it lies.
    decade = (baseline[0] - left) / 3  # 0.001 .. 1 is three decades
    assert math.isclose(raw[0] - baseline[0], decade * math.log10(2.5), rel_tol=1e-3)
    assert create[0] - left < 2
    assert sorted(_dashed_lines(svg)) == [baseline[0], raw[0]]
    assert raw[1] == bench_chart.CEILING_BAR
    assert health[1] == bench_chart.BAR, "0.75 meets the /health target of 0.70"


def test_a_row_below_its_target_is_red_and_its_target_is_ticked() -> None:
    svg = bench_chart.render_svg(REPORT, ceiling=bench.RAW.name, targets=bench.RATIO_TARGETS)

    user = _bars(svg)["0.25× FastAPI · 0.1× raw · 600 req/s"]
    assert user[1] == bench_chart.SLOW, f"0.25 misses the user-read target of {bench.USER_READ_TARGET}"
    assert f"<title>target {bench.USER_READ_TARGET:g}×</title>" in svg
    assert f"<title>target {bench.HEALTH_TARGET:g}×</title>" in svg
    assert "wrk &lt;1 thread&gt;" in svg, "the run's description is escaped, not parsed"


def test_a_subset_without_the_ceiling_still_draws_the_baseline(tmp_path: Path) -> None:
    subset = _report(**{bench.BASELINE.name: _row(2400, 1.0), bench.HEALTH.name: _row(1900, 0.79)})
    path = tmp_path / "deep" / "bench.svg"

    bench_chart.write_chart(path, subset, ceiling=bench.RAW.name, targets={})

    svg = path.read_text(encoding="utf-8")
    assert set(_bars(svg)) == {"1× FastAPI · 2,400 req/s", "0.79× FastAPI · 1,900 req/s"}
    assert len(_dashed_lines(svg)) == 1


def test_only_a_full_run_replaces_the_chart_the_docs_show(tmp_path: Path) -> None:
    report = tmp_path / "bench-20261208T050000Z.json"
    own = tmp_path / "bench-20261208T050000Z.svg"

    assert bench.chart_paths(report, smoke=False, only=[]) == [own, bench.DOCS_CHART]
    assert bench.chart_paths(report, smoke=True, only=[]) == [own]
    assert bench.chart_paths(report, smoke=False, only=["health"]) == [own]
    assert bench.DOCS_CHART.relative_to(ROOT).as_posix() == "docs/assets/bench.svg"
    assert bench.DOCS_CHART.is_file(), "the performance page shows the committed chart"
