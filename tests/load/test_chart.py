"""The chart a run writes next to its verdict: per exercised operation a p95 bar coloured by verdict, against a tick
at its x-slo, on one log scale; well-formed SVG whatever the operation names hold."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from pathlib import Path

from load import chart, slo
from scripts.spec_slo import Slo

SVG = "{http://www.w3.org/2000/svg}"


def _verdict(name: str, p95: float, objective: float, verdict: str, requests: int = 200) -> slo.Verdict:
    observed = slo.Observed(requests, 0, 0, p95 / 2, p95, p95 * 2)
    return slo.Verdict(name, observed, Slo(objective, 0.01), verdict)


def _bars(svg: str) -> dict[str, tuple[float, str, float]]:
    """Each bar's title → (its right end, its colour, the x of the SLO tick drawn after it)."""
    root = ElementTree.fromstring(svg)  # noqa: S314  # the SVG this test itself made
    children = list(root)
    bars = {}
    for index, element in enumerate(children):
        if element.tag == f"{SVG}rect":
            tick = children[index + 1]
            title = element.find(f"{SVG}title")
            assert title is not None
            assert title.text is not None
            end = float(element.attrib["x"]) + float(element.attrib["width"])
            bars[title.text] = (end, element.attrib["fill"], float(tick.attrib["x1"]))
    return bars


def test_each_exercised_operation_gets_a_p95_bar_against_its_slo_tick() -> None:
    verdicts = [
        _verdict("getHealth", 4, 50, slo.OK),
        _verdict("listUsers", 900, 300, slo.BREACH),
        _verdict("login", 700, 10_000, slo.NOT_JUDGED, requests=12),
        slo.Verdict("deleteUser", None, Slo(500, 0.01), slo.NOT_EXERCISED),
        slo.Verdict("GET /docs", slo.Observed(3, 0, 0, 1, 1, 1), None, slo.NO_SLO),
    ]

    svg = chart.render_svg(verdicts, title="p95 against x-slo (data: 100,000 users seeded) <&>")
    bars = _bars(svg)

    assert set(bars) == {
        "p95 4 ms, x-slo 50 ms: ok",
        "p95 900 ms, x-slo 300 ms: BREACH",
        "p95 700 ms, x-slo 10000 ms: not judged",
    }
    ok_end, ok_colour, ok_tick = bars["p95 4 ms, x-slo 50 ms: ok"]
    breach_end, breach_colour, breach_tick = bars["p95 900 ms, x-slo 300 ms: BREACH"]
    assert ok_end < ok_tick, "a met objective's bar stops short of its tick"
    assert breach_end > breach_tick, "a breached one runs past it"
    assert (ok_colour, breach_colour) == (chart.COLOURS[slo.OK], chart.COLOURS[slo.BREACH])
    assert "listUsers (200)" in svg
    assert "login (12)" in svg
    assert "deleteUser" not in svg
    assert "data: 100,000 users seeded) &lt;&amp;&gt;" in svg


def test_a_run_with_nothing_to_chart_still_writes_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "load-p95.svg"

    chart.write_chart(path, [], title="nothing exercised")

    assert _bars(path.read_text(encoding="utf-8")) == {}
