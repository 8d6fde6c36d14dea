"""One chart description per measure, drawn as SVG for pages (and, later, as a ReportLab
drawing for PDFs). Every chart carries a title, a text summary and its data as a table, so
that nobody depends on seeing it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from html import escape

from reportlab.graphics.shapes import Circle, Drawing, Line, PolyLine, Rect, String

# A band is shaded, labelled and bounded; the palette is calm and colour is never the only
# signal (band names are written on the chart and in the table).
BAND_FILLS = ("#eef5f1", "#f6f3e4", "#f8ece2", "#f6e3e0", "#f1dede")


@dataclass(frozen=True)
class ChartPoint:
    when: dt.date
    value: float
    label: str = ""  # e.g. "week 3"


@dataclass(frozen=True)
class ChartBand:
    low: float
    high: float
    label: str


@dataclass(frozen=True)
class Chart:
    title: str
    y_label: str
    y_min: float
    y_max: float
    points: tuple[ChartPoint, ...]
    bands: tuple[ChartBand, ...] = ()
    cutoff: float | None = None
    cutoff_label: str = ""
    baseline: float | None = None
    summary: str = ""
    markers: tuple[tuple[dt.date, str], ...] = field(default_factory=tuple)


W, H = 640, 260
LEFT, RIGHT, TOP, BOTTOM = 40, 16, 16, 36


def _x(chart: Chart, when: dt.date) -> float:
    dates = [p.when for p in chart.points] + [m[0] for m in chart.markers]
    first, last = min(dates), max(dates)
    span = max((last - first).days, 1)
    inner = W - LEFT - RIGHT
    if len(chart.points) == 1 and not chart.markers:
        return LEFT + inner / 2
    return LEFT + inner * (when - first).days / span


def _y(chart: Chart, value: float) -> float:
    inner = H - TOP - BOTTOM
    return TOP + inner * (1 - (value - chart.y_min) / (chart.y_max - chart.y_min))


def svg(chart: Chart, chart_id: str) -> str:
    """The chart as an accessible inline SVG (role img, title and description)."""
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(chart.title)}</title>',
        f'<desc id="{desc_id}">{escape(chart.summary)}</desc>',
    ]
    for i, band in enumerate(chart.bands):
        top, bottom = (
            _y(chart, min(band.high + 0.5, chart.y_max)),
            _y(chart, max(band.low - 0.5, chart.y_min)),
        )
        fill = BAND_FILLS[min(i, len(BAND_FILLS) - 1)]
        parts.append(
            f'<rect x="{LEFT}" y="{top:.1f}" width="{W - LEFT - RIGHT}" height="{bottom - top:.1f}" '
            f'fill="{fill}"/>'
        )
        # The band's name sits inside it, top right, so long names never run off the chart.
        parts.append(
            f'<text x="{W - RIGHT - 6}" y="{top + 15:.1f}" class="band-label" text-anchor="end">'
            f"{escape(band.label)}</text>"
        )
    # axis and ticks
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{H - BOTTOM}" class="axis"/>')
    parts.append(
        f'<line x1="{LEFT}" y1="{H - BOTTOM}" x2="{W - RIGHT}" y2="{H - BOTTOM}" class="axis"/>'
    )
    for tick in _ticks(chart.y_min, chart.y_max):
        y = _y(chart, tick)
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">{tick:g}</text>'
        )
    if chart.cutoff is not None:
        y = _y(chart, chart.cutoff)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" class="cutoff"/>'
        )
        parts.append(
            f'<text x="{LEFT + 4}" y="{y - 4:.1f}" class="cutoff-label">{escape(chart.cutoff_label)}</text>'
        )
    if chart.baseline is not None and chart.points:
        y = _y(chart, chart.baseline)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}" class="baseline"/>'
        )
    for when, label in chart.markers:
        x = _x(chart, when)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP}" x2="{x:.1f}" y2="{H - BOTTOM}" class="marker">'
            f"<title>{escape(label)}</title></line>"
        )
    if chart.points:
        coords = [(_x(chart, p.when), _y(chart, p.value)) for p in chart.points]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{path}" class="line"/>')
        for (x, y), p in zip(coords, chart.points, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="point">'
                f"<title>{p.when:%d %b %Y}: {p.value:g}</title></circle>"
            )
        first, last = chart.points[0], chart.points[-1]
        parts.append(f'<text x="{LEFT}" y="{H - 12}" class="tick">{first.when:%d %b}</text>')
        if last is not first:
            parts.append(
                f'<text x="{W - RIGHT}" y="{H - 12}" class="tick" text-anchor="end">{last.when:%d %b}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    step = next(s for s in (1, 2, 5, 10, 20, 50) if span / s <= 6)
    first = low if low % step == 0 else low + (step - low % step)
    ticks = []
    value = first
    while value <= high:
        ticks.append(value)
        value += step
    return ticks


def drawing(chart: Chart, width: float = 480, height: float = 200) -> Drawing:
    """The same chart as a ReportLab drawing, for the PDF reports (same bands, cut-off,
    baseline and points as the SVG)."""
    from reportlab.lib import colors

    from . import pdf

    pdf.fonts()
    d = Drawing(width, height)
    left, right, top, bottom = 30.0, 8.0, 18.0, 24.0
    inner_w, inner_h = width - left - right, height - top - bottom

    def y(value: float) -> float:
        return bottom + inner_h * (value - chart.y_min) / (chart.y_max - chart.y_min)

    dates = [p.when for p in chart.points]

    def x(when: dt.date) -> float:
        if len(dates) < 2:
            return left + inner_w / 2
        span = max((max(dates) - min(dates)).days, 1)
        return left + inner_w * (when - min(dates)).days / span

    d.add(String(left, height - 12, chart.title, fontName=pdf.BOLD, fontSize=10))
    for i, band in enumerate(chart.bands):
        low, high = y(max(band.low - 0.5, chart.y_min)), y(min(band.high + 0.5, chart.y_max))
        fill = colors.HexColor(BAND_FILLS[min(i, len(BAND_FILLS) - 1)])
        d.add(Rect(left, low, inner_w, high - low, fillColor=fill, strokeColor=None))
        d.add(String(left + inner_w - 3, high - 8, band.label, fontSize=7, textAnchor="end"))
    d.add(Line(left, bottom, left, bottom + inner_h, strokeColor=colors.grey))
    d.add(Line(left, bottom, left + inner_w, bottom, strokeColor=colors.grey))
    for tick in _ticks(chart.y_min, chart.y_max):
        d.add(String(left - 4, y(tick) - 3, f"{tick:g}", fontSize=7, textAnchor="end"))
    if chart.cutoff is not None:
        d.add(
            Line(
                left,
                y(chart.cutoff),
                left + inner_w,
                y(chart.cutoff),
                strokeColor=colors.HexColor("#a1260f"),
                strokeDashArray=[4, 3],
            )
        )
        d.add(String(left + 3, y(chart.cutoff) + 2, chart.cutoff_label, fontSize=7))
    if chart.points:
        coords = [(x(p.when), y(p.value)) for p in chart.points]
        if len(coords) > 1:
            d.add(
                PolyLine(
                    [c for xy in coords for c in xy],
                    strokeColor=colors.HexColor("#22524a"),
                    strokeWidth=1.5,
                )
            )
        for cx, cy in coords:
            d.add(Circle(cx, cy, 2.5, fillColor=colors.HexColor("#22524a"), strokeColor=None))
        d.add(String(left, bottom - 12, f"{chart.points[0].when:%d %b %Y}", fontSize=7))
        if len(coords) > 1:
            d.add(
                String(
                    left + inner_w,
                    bottom - 12,
                    f"{chart.points[-1].when:%d %b %Y}",
                    fontSize=7,
                    textAnchor="end",
                )
            )
    for (
        shape
    ) in d.contents:  # every label in the embedded Unicode font (band names may not be Latin)
        if isinstance(shape, String) and shape.fontName != pdf.BOLD:
            shape.fontName = pdf.BODY
    return d
