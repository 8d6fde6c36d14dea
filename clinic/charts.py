"""One chart description per measure, laid out once and drawn twice: as SVG for pages and as a
ReportLab drawing for PDFs. Every chart carries a title, a text summary and its data as a
table, so that nobody depends on seeing it.

The layout is shared so both drawings say the same thing: bands shaded by severity (the
instrument's direction decides which end is severe), band names in a gutter right of the
plotting area where the line never runs, event markers with a short label above the plot,
a date under as many points as fit, and a key for the cut-off, baseline and events."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from html import escape
from typing import TYPE_CHECKING

# ReportLab and the embedded fonts load on the first chart or PDF, not at import: a process
# that never draws one (a command, a test) does not pay for them, and gunicorn loads them once
# in its master (clinic.warm), where every worker shares them.
if TYPE_CHECKING:
    from reportlab.graphics.shapes import Drawing

# A band is shaded, labelled and bounded; the palette runs from calm green (the healthiest
# band) to the strongest warning tint (the most severe), and colour is never the only signal
# (band names are written on the chart and in the table).
BAND_FILLS = ("#eef5f1", "#f6f3e4", "#f8ece2", "#f6e3e0", "#f1dede")
LINE, MARKER, CUTOFF, BASELINE, INK = "#22524a", "#6b8fc4", "#a1260f", "#55636b", "#3d4a50"
# The expected path (clinic.tracking): a slate dashed line over a light slate band from the path
# to the healthy end of the scale (scores in the band are on track); never the alert red.
EXPECTED, EXPECTED_OPACITY = "#4a5d7a", 0.14

# The page's chart: a viewBox sized so that its text stays >= 12 px on the narrowest phone
# (ui.md). At 360 px the chart in a record card is about 284 px wide, so 17 units are 12 px;
# wider screens get smaller units through app.css, inside the room laid out for 17.
W, H, SIZE = 400, 300, 17
PHONE_PX = 284
# Event labels are shortened to this share of the plot (the full text is in the table).
MARKER_SHARE = 0.45


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
    # The instrument's direction: it decides which band is the most severe (CSI-4's lowest).
    higher_is_better: bool = False
    # An expected path (clinic.tracking), dated points drawn as a band from the path to the
    # healthy end of the scale, named in the key and said in words in the description.
    expected: tuple[ChartPoint, ...] = ()
    expected_label: str = "expected path"
    expected_words: str = ""


def band_fills(chart: Chart) -> list[str]:
    """Each band's fill, in the chart's band order, by severity: the healthiest band calm
    green, the most severe the strongest warning tint, those between in order."""
    n = len(chart.bands)
    order = sorted(range(n), key=lambda i: chart.bands[i].low)
    if chart.higher_is_better:
        order.reverse()  # the lowest scores are the most severe
    rank = {band: r for r, band in enumerate(order)}
    return [_blend(rank[i] / (n - 1) if n > 1 else 0.0) for i in range(n)]


def _blend(t: float) -> str:
    """The palette colour a share t of the way from calm to warning."""
    stops = [tuple(int(c[i : i + 2], 16) for i in (1, 3, 5)) for c in BAND_FILLS]
    pos = t * (len(stops) - 1)
    i = min(int(pos), len(stops) - 2)
    f = pos - i
    rgb = (round(a + (b - a) * f) for a, b in zip(stops[i], stops[i + 1], strict=True))
    return "#" + "".join(f"{c:02x}" for c in rgb)


# --- layout (top-down coordinates, as in SVG; the PDF flips them) ---------------------------


@dataclass(frozen=True)
class Box:
    x0: float
    y0: float
    x1: float
    y1: float

    def overlaps(self, other: Box, gap: float = 0.0) -> bool:
        return not (
            self.x1 + gap <= other.x0
            or other.x1 + gap <= self.x0
            or self.y1 + gap <= other.y0
            or other.y1 + gap <= self.y0
        )


@dataclass(frozen=True)
class Label:
    kind: str  # band-label, tick, marker-label, legend (the SVG class)
    lines: tuple[str, ...]
    x: float  # where the anchor is
    y: float  # top of the first line
    anchor: str  # start, middle or end
    box: Box
    full: str = ""  # the whole text, when the label is shortened


@dataclass(frozen=True)
class Layout:
    width: float
    height: float
    size: float  # font size of every label
    plot: Box  # where the line and points are; labels stay outside or clear of it
    bands: tuple[tuple[Box, str], ...]  # shaded area (plot and gutter) and fill
    points: tuple[tuple[float, float], ...]
    y_ticks: tuple[tuple[float, str], ...]
    x_ticks: tuple[float, ...]
    markers: tuple[tuple[float, str], ...]  # x and the full text
    cutoff: float | None  # y of the cut-off line
    baseline: float | None
    labels: tuple[Label, ...]
    key: tuple[tuple[str, Box], ...]  # legend samples: cutoff, baseline, marker, expected
    expected: tuple[tuple[float, float], ...] = ()  # the expected path's corners

    @property
    def line_height(self) -> float:
        return self.size * 1.25

    def text_y(self, label: Label, i: int) -> float:
        """The text baseline of a label's line i."""
        return label.y + i * self.line_height + self.size * 0.95


Measure = Callable[[str, float], float]


def measure(text: str, size: float) -> float:
    """Text width in the embedded PDF fonts; DejaVu Sans is wider than the system fonts
    browsers use, so the same measure leaves room to spare on pages."""
    from . import pdf

    return pdf.width(text, size)


def wrap(text: str, room: float, size: float, measure: Measure = measure) -> tuple[str, ...]:
    """Words on as few lines as fit `room`; a word longer than a line is broken (text in
    scripts without spaces too)."""
    lines: list[str] = []
    for word in text.split():
        while measure(word, size) > room and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and measure(word[:cut], size) > room:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        if lines and measure(f"{lines[-1]} {word}", size) <= room:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return tuple(lines) or ("",)


def shorten(text: str, room: float, size: float, measure: Measure = measure) -> str:
    """The text on one line within `room`, cut with an ellipsis if it does not fit."""
    text = " ".join(text.split())
    if measure(text, size) <= room:
        return text
    cut = len(text)
    while cut > 1 and measure(text[:cut].rstrip() + "…", size) > room:
        cut -= 1
    return text[:cut].rstrip() + "…"


def _ticks(low: float, high: float) -> list[float]:
    span = high - low
    step = next((s for s in (1, 2, 5, 10, 20, 50, 100, 200, 500) if span / s <= 6), span)
    first = low if low % step == 0 else low + (step - low % step)
    ticks = []
    value = first
    while value <= high:
        ticks.append(value)
        value += step
    return ticks


def layout(
    chart: Chart,
    width: float,
    height: float,
    size: float,
    *,
    top: float = 0.0,
    date_format: Callable[[dt.date, bool], str] = lambda day, end: f"{day:%d %b}",
    measure: Measure = measure,
) -> Layout:
    """Where everything goes. `top` is room kept above (the PDF's title); the chart grows
    taller when the band names need more room than `height` leaves."""
    pad, line_h = size * 0.5, size * 1.25
    y_ticks = _ticks(chart.y_min, chart.y_max)
    left = max(measure(f"{t:g}", size) for t in y_ticks) + 2 * pad
    bands = sorted(
        zip(chart.bands, band_fills(chart), strict=True), key=lambda bf: bf[0].low, reverse=True
    )
    if bands:
        full = max(measure(" ".join(b.label.split()), size) for b, _ in bands)
        word = max(measure(w, size) for b, _ in bands for w in b.label.split() or [""])
        gutter = min(full, max(width * 0.3, min(word, width * 0.4 - 2 * pad))) + 2 * pad
        wrapped = [wrap(b.label, gutter - 2 * pad, size, measure) for b, _ in bands]
    else:
        gutter, wrapped = pad, []
    x0, x1 = left, width - gutter
    inset = size * 0.6  # the first and last points clear of the axis and the gutter

    dates = [p.when for p in (*chart.points, *chart.expected)] + [m[0] for m in chart.markers]
    first, last = (min(dates), max(dates)) if dates else (dt.date.today(),) * 2
    span = (last - first).days

    def x_of(day: dt.date) -> float:
        if span == 0:
            return (x0 + x1) / 2
        return x0 + inset + (x1 - x0 - 2 * inset) * (day - first).days / span

    # Event labels above the plot, as many rows as keep them apart.
    rows: list[list[Box]] = []
    placed: list[tuple[float, str, str, int, float, str]] = []
    ordered = sorted(chart.markers, key=lambda m: m[0])
    xs = [x_of(day) for day, _ in ordered] + [width + pad]
    for i, (_day, text) in enumerate(ordered):
        # As long as the room up to the next event (or the edge) allows, and at least a share
        # of the plot (rows keep labels apart when events are close).
        x = xs[i]
        room = max(xs[i + 1] - x - pad - 3, (x1 - x0) * MARKER_SHARE, size * 3)
        short = shorten(text, room, size, measure)
        w = measure(short, size)
        a, bx0 = ("start", x + 2) if x + 2 + w <= width - 1 else ("end", x - 2 - w)
        box = Box(bx0, 0, bx0 + w, line_h)
        row = next(
            (r for r, boxes in enumerate(rows) if not any(box.overlaps(b, pad) for b in boxes)),
            len(rows),
        )
        if row == len(rows):
            rows.append([])
        rows[row].append(box)
        placed.append((x, short, a, row, bx0, text))
    strip = len(rows) * line_h + (pad if rows else 0)

    # Dates under as many points as fit apart, always the first and the last (a line lower
    # when the two are too close to share one).
    ticks: list[tuple[int, float, str]] = []  # row, centre, text
    tick_xs: list[float] = []
    if chart.points:

        def tick_box(day: dt.date, end: bool) -> tuple[float, str, Box]:
            text = date_format(day, end)
            w = measure(text, size)
            cx = min(max(x_of(day), w / 2 + 1), width - w / 2 - 1)
            return cx, text, Box(cx - w / 2, 0, cx + w / 2, line_h)

        days = sorted({p.when for p in chart.points})
        head, tail = tick_box(days[0], True), tick_box(days[-1], True)
        ticks.append((0, head[0], head[1]))
        tick_xs.append(x_of(days[0]))
        previous = head[2]
        for day in days[1:-1]:
            cx, text, box = tick_box(day, False)
            if not box.overlaps(previous, pad) and not box.overlaps(tail[2], pad):
                ticks.append((0, cx, text))
                tick_xs.append(x_of(day))
                previous = box
        if len(days) > 1:
            ticks.append((1 if tail[2].overlaps(head[2], pad) else 0, tail[0], tail[1]))
            tick_xs.append(x_of(days[-1]))
    tick_rows = 1 + max((row for row, _, _ in ticks), default=0)

    # The key under the dates: samples of the cut-off, baseline and event lines.
    items = []
    if chart.cutoff is not None:
        items.append(("cutoff", chart.cutoff_label or f"cut-off {chart.cutoff:g}"))
    if chart.baseline is not None and chart.points:
        items.append(("baseline", f"baseline {chart.baseline:g}"))
    if chart.markers:
        items.append(("marker", "event" if len(chart.markers) == 1 else "events"))
    if chart.expected:
        items.append(("expected", chart.expected_label))
    sample = size * 1.6
    key_rows: list[list[tuple[str, str, float]]] = []
    cursor = width
    for kind, text in items:
        text = shorten(text, width - x0 - sample - pad - 1, size, measure)
        w = sample + pad * 0.6 + measure(text, size)
        if not key_rows or cursor + w > width - 1:
            key_rows.append([])
            cursor = x0
        key_rows[-1].append((kind, text, cursor))
        cursor += w + size
    bottom = size * 0.4 + tick_rows * line_h + pad + len(key_rows) * line_h + pad

    plot_top = top + strip + size * 0.7  # half a tick label above the top tick
    plot_h = height - plot_top - bottom
    gap = size * 0.2
    # Tall enough for the names stacked, and, up to twice the height asked for, for each name
    # to sit inside its own band.
    needed = sum(len(lines) * line_h for lines in wrapped) + gap * max(len(wrapped) - 1, 0)
    span_y = (chart.y_max - chart.y_min) or 1
    inside = max(
        (
            (len(lines) * line_h + gap)
            * span_y
            / (min(b.high + 0.5, chart.y_max) - max(b.low - 0.5, chart.y_min))
            for (b, _), lines in zip(bands, wrapped, strict=True)
        ),
        default=0.0,
    )
    wanted = max(needed, min(inside, 2 * plot_h))
    if plot_h < wanted:
        plot_h = wanted
        height = plot_top + plot_h + bottom
    plot = Box(x0, plot_top, x1, plot_top + plot_h)

    def y_of(value: float) -> float:
        share = (value - chart.y_min) / ((chart.y_max - chart.y_min) or 1)
        return plot.y0 + plot_h * (1 - share)

    labels: list[Label] = []
    shaded = []
    spots: list[tuple[float, float]] = []  # each band name's top and height, top first
    for (band, fill), lines in zip(bands, wrapped, strict=True):
        b_top = y_of(min(band.high + 0.5, chart.y_max))
        b_bottom = y_of(max(band.low - 0.5, chart.y_min))
        shaded.append((Box(x0, b_top, width, b_bottom), fill))
        h = len(lines) * line_h
        want = (b_top + b_bottom - h) / 2
        if h <= b_bottom - b_top:
            want = min(max(want, b_top), b_bottom - h)
        spots.append((want, h))
    # Keep the names apart and inside the plot's height: push down, then back up.
    tops = [t for t, _ in spots]
    for i in range(1, len(spots)):
        tops[i] = max(tops[i], tops[i - 1] + spots[i - 1][1] + gap)
    limit = plot.y1
    for i in reversed(range(len(spots))):
        tops[i] = min(tops[i], limit - spots[i][1])
        limit = tops[i] - gap
    for (band, _), lines, t, (_, h) in zip(bands, wrapped, tops, spots, strict=True):
        bx = x1 + pad
        w = max(measure(line, size) for line in lines)
        labels.append(
            Label("band-label", lines, bx, t, "start", Box(bx, t, bx + w, t + h), band.label)
        )

    for row, cx, text in ticks:
        w, ty = measure(text, size), plot.y1 + size * 0.4 + row * line_h
        labels.append(
            Label("tick", (text,), cx, ty, "middle", Box(cx - w / 2, ty, cx + w / 2, ty + line_h))
        )

    y_labels = []
    for t in y_ticks:
        y = y_of(t)
        y_labels.append((y, f"{t:g}"))
        w = measure(f"{t:g}", size)
        labels.append(
            Label(
                "tick",
                (f"{t:g}",),
                x0 - pad,
                y - line_h / 2,
                "end",
                Box(x0 - pad - w, y - line_h / 2, x0 - pad, y + line_h / 2),
            )
        )

    markers = []
    for x, short, a, row, bx0, text in placed:
        ty = plot.y0 - size * 0.7 - (row + 1) * line_h
        w = measure(short, size)
        labels.append(
            Label(
                "marker-label",
                (short,),
                x + 2 if a == "start" else x - 2,
                ty,
                a,
                Box(bx0, ty, bx0 + w, ty + line_h),
                text,
            )
        )
        markers.append((x, text))

    key = []
    ky = plot.y1 + size * 0.4 + tick_rows * line_h + pad
    for r, row_items in enumerate(key_rows):
        y = ky + r * line_h
        for kind, text, kx in row_items:
            key.append((kind, Box(kx, y + line_h / 2, kx + sample, y + line_h / 2)))
            tx = kx + sample + pad * 0.6
            labels.append(
                Label(
                    "legend",
                    (text,),
                    tx,
                    y,
                    "start",
                    Box(tx, y, tx + measure(text, size), y + line_h),
                )
            )

    return Layout(
        width=width,
        height=height,
        size=size,
        plot=plot,
        bands=tuple(shaded),
        points=tuple((x_of(p.when), y_of(p.value)) for p in chart.points),
        y_ticks=tuple(y_labels),
        x_ticks=tuple(tick_xs),
        markers=tuple(markers),
        cutoff=y_of(chart.cutoff) if chart.cutoff is not None else None,
        baseline=y_of(chart.baseline) if chart.baseline is not None and chart.points else None,
        labels=tuple(labels),
        key=tuple(key),
        expected=tuple((x_of(p.when), y_of(p.value)) for p in chart.expected),
    )


def expected_band(g: Layout, higher_is_better: bool) -> tuple[tuple[float, float], ...]:
    """The band's outline: the path, then along the healthy edge of the plot back."""
    if len(g.expected) < 2:
        return ()
    edge = g.plot.y0 if higher_is_better else g.plot.y1
    return (*g.expected, (g.expected[-1][0], edge), (g.expected[0][0], edge))


# --- the page's SVG ---------------------------------------------------------------------------


def svg(chart: Chart, chart_id: str) -> str:
    """The chart as an accessible inline SVG (role img, title and description)."""
    g = layout(chart, W, H, SIZE)
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg class="chart" viewBox="0 0 {g.width:g} {g.height:.0f}" role="img" '
        f'aria-labelledby="{title_id} {desc_id}" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{title_id}">{escape(chart.title)}</title>',
        f'<desc id="{desc_id}">{escape(description(chart))}</desc>',
    ]
    p = g.plot
    for box, fill in g.bands:
        parts.append(
            f'<rect x="{box.x0:.1f}" y="{box.y0:.1f}" width="{box.x1 - box.x0:.1f}" '
            f'height="{box.y1 - box.y0:.1f}" fill="{fill}"/>'
        )
    band = expected_band(g, chart.higher_is_better)
    if band:
        outline = " ".join(f"{x:.1f},{y:.1f}" for x, y in band)
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in g.expected)
        parts.append(
            f'<polygon points="{outline}" class="expected-band" fill="{EXPECTED}" '
            f'fill-opacity="{EXPECTED_OPACITY}"/>'
            f'<polyline points="{path}" class="expected" fill="none" stroke="{EXPECTED}" '
            'stroke-width="2" stroke-dasharray="7 3"/>'
        )
    parts.append(
        f'<line x1="{p.x0:.1f}" y1="{p.y0:.1f}" x2="{p.x0:.1f}" y2="{p.y1:.1f}" class="axis"/>'
    )
    parts.append(
        f'<line x1="{p.x0:.1f}" y1="{p.y1:.1f}" x2="{p.x1:.1f}" y2="{p.y1:.1f}" class="axis"/>'
    )
    for x in g.x_ticks:
        parts.append(
            f'<line x1="{x:.1f}" y1="{p.y1:.1f}" x2="{x:.1f}" y2="{p.y1 + g.size * 0.3:.1f}" class="axis"/>'
        )
    if g.cutoff is not None:
        parts.append(
            f'<line x1="{p.x0:.1f}" y1="{g.cutoff:.1f}" x2="{p.x1:.1f}" y2="{g.cutoff:.1f}" class="cutoff"/>'
        )
    if g.baseline is not None:
        parts.append(
            f'<line x1="{p.x0:.1f}" y1="{g.baseline:.1f}" x2="{p.x1:.1f}" y2="{g.baseline:.1f}" class="baseline"/>'
        )
    for x, text in g.markers:
        parts.append(
            f'<line x1="{x:.1f}" y1="{p.y0:.1f}" x2="{x:.1f}" y2="{p.y1:.1f}" class="marker">'
            f"<title>{escape(text)}</title></line>"
        )
    for kind, box in g.key:
        style = (
            f' stroke="{EXPECTED}" stroke-width="2" stroke-dasharray="7 3"'
            if kind == "expected"
            else ""
        )
        parts.append(
            f'<line x1="{box.x0:.1f}" y1="{box.y0:.1f}" x2="{box.x1:.1f}" y2="{box.y1:.1f}" class="key {kind}"{style}/>'
        )
    if g.points:
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in g.points)
        parts.append(f'<polyline points="{path}" class="line"/>')
        for (x, y), pt in zip(g.points, chart.points, strict=True):
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" class="point">'
                f"<title>{pt.when:%d %b %Y}: {pt.value:g}</title></circle>"
            )
    for label in g.labels:
        parts.append(_svg_text(g, label))
    parts.append("</svg>")
    return "".join(parts)


def _svg_text(g: Layout, label: Label) -> str:
    head = (
        f'<text x="{label.x:.1f}" y="{g.text_y(label, 0):.1f}" class="{label.kind}" '
        f'font-size="{g.size:g}"'
        + ("" if label.anchor == "start" else f' text-anchor="{label.anchor}"')
        + ">"
    )
    title = (
        f"<title>{escape(label.full)}</title>"
        if label.full and label.kind == "marker-label"
        else ""
    )
    if len(label.lines) == 1:
        return f"{head}{title}{escape(label.lines[0])}</text>"
    spans = "".join(
        f'<tspan x="{label.x:.1f}" y="{g.text_y(label, i):.1f}">{escape(line)}</tspan>'
        for i, line in enumerate(label.lines)
    )
    return f"{head}{title}{spans}</text>"


def description(chart: Chart) -> str:
    """The chart's summary with its events in full and the expected path in words (the
    SVG's description)."""
    words = f"{chart.summary} {chart.expected_words}".strip() if chart.expected else chart.summary
    if not chart.markers:
        return words
    events = "; ".join(
        f"{day:%d %b %Y}: {' '.join(text.split())}" for day, text in sorted(chart.markers)
    )
    return f"{words} Events: {events}.".strip()


# --- the PDF's drawing ------------------------------------------------------------------------


def drawing(chart: Chart, width: float = 480, height: float = 200) -> Drawing:
    """The same chart as a ReportLab drawing, for the PDF reports (same bands, names, events,
    dates, cut-off, baseline and points as the SVG)."""
    from reportlab.graphics.shapes import Circle, Drawing, Line, Polygon, PolyLine, Rect, String
    from reportlab.lib import colors

    from . import pdf

    pdf.fonts()
    size, title = 7.0, 16.0

    def dates(day: dt.date, end: bool) -> str:
        return f"{day:%d %b %Y}" if end else f"{day:%d %b}"

    g = layout(chart, width, height, size, top=title, date_format=dates)
    h = g.height
    d = Drawing(width, h)

    def flip(y: float) -> float:
        return h - y

    p = g.plot
    d.add(String(p.x0, h - 12, chart.title, fontName=pdf.BOLD, fontSize=10))
    for box, fill in g.bands:
        d.add(
            Rect(
                box.x0,
                flip(box.y1),
                box.x1 - box.x0,
                box.y1 - box.y0,
                fillColor=colors.HexColor(fill),
                strokeColor=None,
            )
        )
    band = expected_band(g, chart.higher_is_better)
    if band:
        d.add(
            Polygon(
                [c for x, y in band for c in (x, flip(y))],
                fillColor=colors.HexColor(EXPECTED),
                fillOpacity=EXPECTED_OPACITY,
                strokeColor=None,
            )
        )
    grey = colors.HexColor("#7b878d")
    d.add(Line(p.x0, flip(p.y1), p.x0, flip(p.y0), strokeColor=grey))
    d.add(Line(p.x0, flip(p.y1), p.x1, flip(p.y1), strokeColor=grey))
    for x in g.x_ticks:
        d.add(Line(x, flip(p.y1), x, flip(p.y1 + size * 0.3), strokeColor=grey))
    styles = {
        "cutoff": dict(strokeColor=colors.HexColor(CUTOFF), strokeDashArray=[4, 3]),
        "baseline": dict(strokeColor=colors.HexColor(BASELINE), strokeDashArray=[1, 2]),
        "marker": dict(strokeColor=colors.HexColor(MARKER), strokeWidth=1.2),
        "expected": dict(
            strokeColor=colors.HexColor(EXPECTED), strokeWidth=1.2, strokeDashArray=[4, 2]
        ),
    }
    if g.cutoff is not None:
        d.add(Line(p.x0, flip(g.cutoff), p.x1, flip(g.cutoff), **styles["cutoff"]))
    if g.baseline is not None:
        d.add(Line(p.x0, flip(g.baseline), p.x1, flip(g.baseline), **styles["baseline"]))
    for x, _ in g.markers:
        d.add(Line(x, flip(p.y0), x, flip(p.y1), **styles["marker"]))
    if band:
        d.add(PolyLine([c for x, y in g.expected for c in (x, flip(y))], **styles["expected"]))
    for kind, box in g.key:
        d.add(Line(box.x0, flip(box.y0), box.x1, flip(box.y1), **styles[kind]))
    if g.points:
        if len(g.points) > 1:
            d.add(
                PolyLine(
                    [c for x, y in g.points for c in (x, flip(y))],
                    strokeColor=colors.HexColor(LINE),
                    strokeWidth=1.5,
                )
            )
        for x, y in g.points:
            d.add(Circle(x, flip(y), 2.5, fillColor=colors.HexColor(LINE), strokeColor=None))
    for label in g.labels:
        for i, line in enumerate(label.lines):
            _pdf_text(d, label.x, flip(g.text_y(label, i)), line, size, label.anchor)
    return d


def _pdf_text(d: Drawing, x: float, y: float, text: str, size: float, anchor: str) -> None:
    """One line in the embedded fonts, a string per font run (any script, any length)."""
    from reportlab.graphics.shapes import String
    from reportlab.lib import colors
    from reportlab.pdfbase import pdfmetrics

    from . import pdf

    runs = pdf.runs(text)
    total = sum(pdfmetrics.stringWidth(chunk, face, size) for face, chunk in runs)
    x -= {"start": 0.0, "middle": total / 2, "end": total}[anchor]
    for face, chunk in runs:
        d.add(String(x, y, chunk, fontName=face, fontSize=size, fillColor=colors.HexColor(INK)))
        x += pdfmetrics.stringWidth(chunk, face, size)
