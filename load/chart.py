"""A chart of each operation's p95 against its `x-slo`, as a small self-contained SVG written at the end of a run.

Hand-written SVG (no plotting library: the chart is bars and ticks, and the load tooling stays light). One row per
operation the run exercised: a bar for its p95, coloured by verdict, and a black tick at its SLO. The scale is
logarithmic, because objectives run from a few milliseconds (/health) to seconds (Argon2 sign-ins).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape  # nosec B406: escapes our own text, parses nothing

from load.slo import BREACH, NOT_JUDGED, OK, Verdict

COLOURS = {OK: "#2e7d32", BREACH: "#c62828", NOT_JUDGED: "#9e9e9e"}
ROW, LABEL, PLOT, MARGIN = 22, 260, 520, 12
LOW_MS = 1.0  # the scale's left edge


def _x(ms: float, high_ms: float) -> float:
    span = math.log10(high_ms) - math.log10(LOW_MS)
    return LABEL + PLOT * (math.log10(max(ms, LOW_MS)) - math.log10(LOW_MS)) / span


@dataclass(frozen=True)
class _Row:
    name: str
    requests: int
    p95_ms: float
    slo_ms: float
    verdict: str


def _rows(verdicts: Iterable[Verdict]) -> list[_Row]:
    return [
        _Row(v.name, v.observed.requests, v.observed.p95_ms, v.slo.p95_ms, v.verdict)
        for v in verdicts
        if v.slo is not None and v.observed is not None and v.observed.requests
    ]


def render_svg(verdicts: Iterable[Verdict], *, title: str) -> str:
    rows = _rows(verdicts)
    high_ms = 10 ** math.ceil(math.log10(max([10.0, *(max(r.p95_ms, r.slo_ms) for r in rows)])))
    bottom = MARGIN + ROW * (len(rows) + 2)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{LABEL + PLOT + 140}" height="{bottom + ROW * 2}" '
        'font-family="sans-serif" font-size="12">',
        f'<text x="{MARGIN}" y="{MARGIN + 12}" font-weight="bold">{escape(title)}</text>',
    ]
    top = MARGIN + ROW
    decade = LOW_MS
    while decade <= high_ms:
        x = _x(decade, high_ms)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{decade:,.0f} ms</text>')
        decade *= 10
    for index, row in enumerate(rows):
        parts += _bar(row, top + ROW * index + 4, high_ms)
    parts.append(
        f'<text x="{MARGIN}" y="{bottom + ROW + 14}">bar: p95 (green ok, red breach, grey not judged); '
        "black tick: the x-slo p95; (n): requests</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _bar(row: _Row, y: int, high_ms: float) -> list[str]:
    colour = COLOURS.get(row.verdict, "#9e9e9e")
    tick = _x(row.slo_ms, high_ms)
    hint = escape(f"p95 {row.p95_ms:g} ms, x-slo {row.slo_ms:g} ms: {row.verdict}")
    return [
        f'<text x="{LABEL - 6}" y="{y + 12}" text-anchor="end">{escape(f"{row.name} ({row.requests:,})")}</text>',
        f'<rect x="{LABEL}" y="{y}" width="{max(_x(row.p95_ms, high_ms) - LABEL, 1):.1f}" height="{ROW - 8}" '
        f'fill="{colour}"><title>{hint}</title></rect>',
        f'<line x1="{tick:.1f}" y1="{y - 2}" x2="{tick:.1f}" y2="{y + ROW - 6}" stroke="#000" stroke-width="2"/>',
        f'<text x="{LABEL + PLOT + 8}" y="{y + 12}">{escape(row.verdict)}</text>',
    ]


def write_chart(path: Path, verdicts: Iterable[Verdict], *, title: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_svg(verdicts, title=title), encoding="utf-8")
