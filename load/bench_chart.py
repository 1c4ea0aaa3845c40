"""The benchmark's chart: each measurement's throughput as a ratio to bare FastAPI and to the raw ASGI ceiling.

A small self-contained SVG made from ``make bench``'s JSON report, like load/chart.py's p95 chart (hand-written: the
chart is bars and lines, and the load tooling stays light). One row per measurement: a bar for its ratio to the
baseline's ``GET /health`` on a logarithmic scale (a password hash is a thousand times slower than a health check),
a dashed line at the baseline (1.0) and one at the raw ASGI ceiling, and a black tick at a row's target when it has
one. The label says both ratios and the requests per second behind them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape  # nosec B406: escapes our own text, parses nothing

ROW, LABEL, PLOT, MARGIN, NOTE = 24, 330, 420, 12, 250
BAR, CEILING_BAR, SLOW = "#1565c0", "#9e9e9e", "#c62828"


def _x(ratio: float, low: float, high: float) -> float:
    span = math.log10(high) - math.log10(low)
    return LABEL + PLOT * (math.log10(min(max(ratio, low), high)) - math.log10(low)) / span


def _scale(ratios: list[float]) -> tuple[float, float]:
    """Whole decades around every ratio (and 1.0), so the gridlines fall on 0.01, 0.1, 1, 10."""
    low = 10 ** math.floor(math.log10(min([1.0, *(r for r in ratios if r > 0)])))
    high = 10 ** math.ceil(math.log10(max([1.0, *ratios]) * 1.01))
    return low, high


def render_svg(report: Mapping[str, Any], *, ceiling: str, targets: Mapping[str, float]) -> str:
    """``ceiling``: the name of the raw ASGI row in ``report["table"]``; ``targets``: row name → its least ratio."""
    table: Mapping[str, Mapping[str, Any]] = report["table"]
    raw = table[ceiling]["ratio_to_baseline"] if ceiling in table else None
    low, high = _scale([row["ratio_to_baseline"] for row in table.values()])
    top = MARGIN + ROW * 2 + 10
    bottom = top + ROW * len(table)
    width = LABEL + PLOT + NOTE
    title = (
        f"make bench, {report['when']}: {report['rounds']} round(s) of {report['seconds']:g} s, "
        f"{report['load_generator']}; load average after {report['load_average_after'][0]:.1f}"
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{bottom + ROW * 3}" '
        'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{bottom + ROW * 3}" fill="#fff"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 12}" font-weight="bold">Throughput as a ratio to bare FastAPI\'s '
        "GET /health (log scale)</text>",
        f'<text x="{MARGIN}" y="{MARGIN + 30}" fill="#555">{escape(title)}</text>',
    ]
    decade = low
    while decade <= high * 1.001:
        x = _x(decade, low, high)
        parts.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{decade:g}×</text>')
        decade *= 10
    for index, (name, row) in enumerate(table.items()):
        colour = CEILING_BAR if name == ceiling else BAR
        parts += _bar(name, row, top + ROW * index + 4, (low, high), raw=raw, target=targets.get(name), colour=colour)
    parts += _reference(1.0, "bare FastAPI", top, bottom, (low, high), anchor="end")
    if raw is not None:
        parts += _reference(raw, "raw ASGI ceiling", top, bottom, (low, high), anchor="start")
    parts.append(
        f'<text x="{MARGIN}" y="{bottom + ROW + 14}">bar: requests per second ÷ the baseline\'s; '
        "black tick: the row's target; right: ratio to FastAPI, to the raw ceiling, and req/s (medians)</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _bar(
    name: str,
    row: Mapping[str, Any],
    y: int,
    scale: tuple[float, float],
    *,
    raw: float | None,
    target: float | None,
    colour: str,
) -> list[str]:
    low, high = scale
    ratio = float(row["ratio_to_baseline"])
    if target is not None and ratio < target:
        colour = SLOW
    of_ceiling = f" · {ratio / raw:.3g}× raw" if raw else ""
    note = f"{ratio:.3g}× FastAPI{of_ceiling} · {row['requests_per_second']:,.0f} req/s"
    parts = [
        f'<text x="{LABEL - 6}" y="{y + 12}" text-anchor="end">{escape(name)}</text>',
        f'<rect x="{LABEL}" y="{y}" width="{max(_x(ratio, low, high) - LABEL, 1):.1f}" height="{ROW - 8}" '
        f'fill="{colour}"><title>{escape(note)}</title></rect>',
        f'<text x="{LABEL + PLOT + 8}" y="{y + 12}">{escape(note)}</text>',
    ]
    if target is not None:
        tick = _x(target, low, high)
        parts.append(
            f'<line x1="{tick:.1f}" y1="{y - 2}" x2="{tick:.1f}" y2="{y + ROW - 6}" stroke="#000" stroke-width="2">'
            f"<title>target {target:g}×</title></line>"
        )
    return parts


def _reference(
    ratio: float, label: str, top: int, bottom: int, scale: tuple[float, float], *, anchor: str
) -> list[str]:
    """A dashed line at ``ratio``, labelled to its left (``anchor="end"``) or right (``"start"``)."""
    x = _x(ratio, *scale)
    label_x = x - 4 if anchor == "end" else x + 4
    return [
        f'<line x1="{x:.1f}" y1="{top - 14}" x2="{x:.1f}" y2="{bottom}" stroke="#555" stroke-dasharray="4 3"/>',
        f'<text x="{label_x:.1f}" y="{top - 4}" text-anchor="{anchor}" fill="#555">{escape(label)}</text>',
    ]


def write_chart(path: Path, report: Mapping[str, Any], *, ceiling: str, targets: Mapping[str, float]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_svg(report, ceiling=ceiling, targets=targets), encoding="utf-8")
