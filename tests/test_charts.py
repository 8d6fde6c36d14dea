"""Charts: accessible SVG for pages and the same chart as a ReportLab drawing for PDFs."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from pypdf import PdfReader
from reportlab.graphics import renderPDF

from clinic import charts, measures, pdf
from clinic.reports import common

EXAMPLE = Path(__file__).parent / "data" / "instruments" / "example_trust.toml"

CHART = charts.Chart(
    title="PHQ-9 over time",
    y_label="Total score",
    y_min=0,
    y_max=27,
    points=(
        charts.ChartPoint(dt.date(2026, 3, 3), 16),
        charts.ChartPoint(dt.date(2026, 3, 17), 11),
        charts.ChartPoint(dt.date(2026, 4, 7), 7),
    ),
    bands=(
        charts.ChartBand(0, 4, "minimal"),
        charts.ChartBand(5, 9, "mild"),
        charts.ChartBand(10, 14, "moderate"),
        charts.ChartBand(15, 19, "moderately severe"),
        charts.ChartBand(20, 27, "severe"),
    ),
    cutoff=10,
    cutoff_label="clinical cut-off 10",
    baseline=16,
    summary="3 PHQ-9 scores. First 16, latest 7 (mild).",
)


def test_svg_is_well_formed_accessible_and_shows_bands_cutoff_and_points():
    svg = charts.svg(CHART, "c1")
    root = ET.fromstring(svg)
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert root.get("role") == "img" and root.get("aria-labelledby") == "c1-title c1-desc"
    assert root.find("s:title", ns).text == "PHQ-9 over time"
    assert "First 16, latest 7" in root.find("s:desc", ns).text
    # a band name may wrap onto lines of its own (tspans)
    labels = [
        " ".join(t.itertext()) if t.find("s:tspan", ns) is not None else t.text
        for t in root.findall("s:text", ns)
    ]
    assert {"minimal", "mild", "moderate", "moderately severe", "severe"} <= set(labels)
    assert "clinical cut-off 10" in labels and "03 Mar" in labels and "07 Apr" in labels
    points = root.findall("s:circle", ns)
    assert [p.find("s:title", ns).text for p in points] == [
        "03 Mar 2026: 16",
        "17 Mar 2026: 11",
        "07 Apr 2026: 7",
    ]
    ys = [float(p.get("cy")) for p in points]
    assert ys[0] < ys[1] < ys[2]  # lower scores sit lower on the chart
    assert root.find("s:line[@class='cutoff']", ns) is not None
    assert root.find("s:line[@class='baseline']", ns) is not None


def test_a_single_point_chart_renders():
    one = charts.Chart(
        "GAD-7 over time", "Total", 0, 21, (charts.ChartPoint(dt.date(2026, 3, 3), 9),)
    )
    assert (
        ET.fromstring(charts.svg(one, "c2")).find("{http://www.w3.org/2000/svg}circle") is not None
    )


def test_the_reportlab_drawing_carries_the_same_chart_into_a_pdf():
    pdf = renderPDF.drawToString(charts.drawing(CHART))
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for expected in (
        "PHQ-9 over time",
        "moderately severe",
        "clinical cut-off 10",
        "03 Mar 2026",
        "07 Apr 2026",
    ):
        assert expected in text


# --- severity, events, every score, band names clear of the line, dates ----------------------

NS = {"s": "http://www.w3.org/2000/svg"}
CALM, WARNING = "#eef5f1", "#f1dede"  # the palette's two ends (charts.BAND_FILLS)
START = dt.date(2026, 1, 6)


def _dated(values):  # type: ignore[no-untyped-def]
    from clinic.episodes import Score

    days = [START + dt.timedelta(days=7 * i) for i in range(len(values))]
    return [
        (day, Score(dt.datetime.combine(day, dt.time(12), dt.UTC), day, v, i + 1, "fortnightly"))
        for i, (day, v) in enumerate(zip(days, values, strict=True))
    ]


def _svg_fill_at(svg: str, value: float) -> str:
    """The fill of the band rectangle behind a score, the score's height read off the
    chart's own points (the first two have different values)."""
    root = ET.fromstring(svg)
    circles = root.findall("s:circle", NS)
    values = [float(c.find("s:title", NS).text.rsplit(": ", 1)[1]) for c in circles]
    (v0, y0), (v1, y1) = [(v, float(c.get("cy"))) for v, c in zip(values, circles, strict=True)][:2]
    y = y0 + (value - v0) * (y1 - y0) / (v1 - v0)
    x = float(circles[0].get("cx")) + 1
    for rect in root.findall("s:rect", NS):
        rx, ry = float(rect.get("x")), float(rect.get("y"))
        if rx <= x <= rx + float(rect.get("width")) and ry <= y <= ry + float(rect.get("height")):
            return rect.get("fill").lower()
    raise AssertionError(f"no band behind {value}")


def _drawing_fill_at(d, value: float) -> str:  # type: ignore[no-untyped-def]
    from reportlab.graphics.shapes import Circle, Rect

    circles = [s for s in d.contents if isinstance(s, Circle)]
    (c0, c1), (v0, v1) = circles[:2], (8, 16)
    y = c0.cy + (value - v0) * (c1.cy - c0.cy) / (v1 - v0)
    for r in (s for s in d.contents if isinstance(s, Rect) and s.fillColor is not None):
        if r.x <= c0.cx + 1 <= r.x + r.width and r.y <= y <= r.y + r.height:
            return "#" + r.fillColor.hexval()[2:].lower()
    raise AssertionError(f"no band behind {value}")


@pytest.mark.parametrize(
    ("code", "severe", "healthy"),
    [("csi4", 3, 19), ("phq9", 24, 2)],  # CSI-4: higher is better, so its lowest band is distress
)
def test_bands_are_shaded_by_severity_in_the_instruments_direction(code, severe, healthy):
    inst = measures.instrument(code)
    chart = common.chart(inst, _dated([8, 16, 12]))
    svg = charts.svg(chart, "c")
    assert _svg_fill_at(svg, severe) == WARNING  # the distress band: warning tint
    assert _svg_fill_at(svg, healthy) == CALM  # the healthiest band: calm green
    d = charts.drawing(chart)
    assert _drawing_fill_at(d, severe) == WARNING
    assert _drawing_fill_at(d, healthy) == CALM


def test_a_practice_instrument_where_higher_is_better_is_shaded_the_same_way(tmp_path, monkeypatch):
    from clinic import create_app

    instance = tmp_path / "instance"
    (instance / "instruments").mkdir(parents=True)
    shutil.copy(EXAMPLE, instance / "instruments")
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(instance))
    app = create_app({"SECRET_KEY": "x" * 32, "DATABASE_URL": "sqlite://"})
    with app.app_context():
        chart = common.chart(measures.instrument("example_trust"), _dated([8, 16, 12]))
    assert _svg_fill_at(charts.svg(chart, "c"), 5) == WARNING  # "low trust"
    assert _svg_fill_at(charts.svg(chart, "c"), 14) == CALM
    assert _drawing_fill_at(charts.drawing(chart), 5) == WARNING


LONG_EVENT = "Moved in together after months of looking for a flat near both jobs"


def test_event_markers_carry_a_short_label_in_the_page_and_the_pdf():
    chart = charts.Chart(
        "PHQ-9 over time",
        "Total",
        0,
        27,
        CHART.points,
        CHART.bands,
        markers=(
            (dt.date(2026, 3, 10), LONG_EVENT),
            (dt.date(2026, 3, 24), "Lost job"),
            (dt.date(2026, 4, 1), "家族と旅行"),  # any script, in a font that has it
        ),
    )
    root = ET.fromstring(charts.svg(chart, "c"))
    texts = [_shown(t) for t in root.findall("s:text", NS)]
    short = next(t for t in texts if t.startswith("Moved in"))
    assert short.endswith("…") and len(short) < len(LONG_EVENT)  # shortened on the chart
    assert any(t.endswith("Lost job") for t in texts)
    assert LONG_EVENT in root.find("s:desc", NS).text  # in full in the description
    assert len(root.findall("s:line[@class='marker']", NS)) == 3
    text = PdfReader(io.BytesIO(renderPDF.drawToString(charts.drawing(chart)))).pages[0]
    drawn = text.extract_text()
    assert "Lost job" in drawn and "Moved in" in drawn and LONG_EVENT not in drawn
    assert "家族と旅行" in drawn


def _width(text: str, size: float) -> float:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    pdf.fonts()
    return stringWidth(text, pdf.BODY, size)


def _shown(t) -> str:  # type: ignore[no-untyped-def]
    """What a text element shows: its lines, not its tooltip."""
    parts = [t.text or ""]
    for child in t:
        parts.append((child.text or "") if child.tag.endswith("tspan") else "")
        parts.append(child.tail or "")
    return "".join(parts)


def _segments(points):  # type: ignore[no-untyped-def]
    return list(itertools.pairwise(points))


def _crosses(box, a, b) -> bool:  # type: ignore[no-untyped-def]
    """Whether the segment a-b passes through the box (x0, y0, x1, y1), sampled finely."""
    x0, y0, x1, y1 = box
    return any(
        x0 <= a[0] + (b[0] - a[0]) * t / 200 <= x1 and y0 <= a[1] + (b[1] - a[1]) * t / 200 <= y1
        for t in range(201)
    )


# A series that ends at the top of a band, flat, where a band name used to sit.
ENDS_IN_BAND = charts.Chart(
    "PHQ-9",
    "Total",
    0,
    27,
    tuple(
        charts.ChartPoint(START + dt.timedelta(days=7 * i), v)
        for i, v in enumerate([12, 14, 19, 19, 19])
    ),
    CHART.bands,
    cutoff=10,
    cutoff_label="cut-off 10",
)


def test_band_names_are_never_crossed_by_the_line_on_the_page():
    root = ET.fromstring(charts.svg(ENDS_IN_BAND, "c"))
    line = root.find("s:polyline", NS).get("points").split()
    points = [tuple(map(float, p.split(","))) for p in line]
    boxes = []
    for t in root.findall("s:text[@class='band-label']", NS):
        size = float(t.get("font-size") or 14)  # 14: the old stylesheet's size
        rows = t.findall("s:tspan", NS) or [t]
        for row in rows:
            x, y = float(row.get("x") or t.get("x")), float(row.get("y") or t.get("y"))
            w = _width("".join(row.itertext()), size)
            x = x - w if t.get("text-anchor") == "end" else x
            boxes.append((x, y - size, x + w, y + size * 0.25))
    assert len(boxes) >= 5
    crossed = [b for b in boxes for a, c in _segments(points) if _crosses(b, a, c)]
    assert not crossed


def test_band_names_are_never_crossed_by_the_line_in_the_pdf():
    from reportlab.graphics.shapes import PolyLine, String
    from reportlab.pdfbase.pdfmetrics import stringWidth

    d = charts.drawing(ENDS_IN_BAND)
    line = next(s for s in d.contents if isinstance(s, PolyLine)).points
    points = list(zip(line[::2], line[1::2], strict=True))
    names = {"minimal", "mild", "moderate", "moderately severe", "severe", "moderately"}
    boxes = []
    for s in d.contents:
        if isinstance(s, String) and s.text in names:
            w = stringWidth(s.text, s.fontName, s.fontSize)
            x = s.x - w if s.textAnchor == "end" else s.x
            boxes.append((x, s.y - s.fontSize * 0.25, x + w, s.y + s.fontSize))
    assert len(boxes) >= 5
    assert not [b for b in boxes for a, c in _segments(points) if _crosses(b, a, c)]


WEEKLY = charts.Chart(
    "PHQ-9 over time",
    "Total",
    0,
    27,
    tuple(charts.ChartPoint(START + dt.timedelta(days=7 * i), 20 - i) for i in range(12)),
    CHART.bands,
)


def test_dates_under_more_points_than_the_first_and_last_readable_on_a_phone():
    root = ET.fromstring(charts.svg(WEEKLY, "c"))
    width = float(root.get("viewBox").split()[2])
    dates = [
        t for t in root.findall("s:text", NS) if (t.text or "")[:2].isdigit() and " " in t.text
    ]
    assert len(dates) >= 3, [t.text for t in dates]
    # Every text stays >= 12 px where the chart is narrowest: about 284 px wide in a record
    # card on a 360 px phone (the stylesheet sets no smaller size there).
    for t in root.findall("s:text", NS):
        assert float(t.get("font-size") or 14) * 284 / width >= 12
    # and the dates do not run into each other
    spans = sorted(
        (
            float(t.get("x")) - _width(t.text, 17) / 2,
            float(t.get("x")) + _width(t.text, 17) / 2,
        )
        for t in dates
    )
    assert all(a[1] < b[0] for a, b in itertools.pairwise(spans))
    drawn = PdfReader(io.BytesIO(renderPDF.drawToString(charts.drawing(WEEKLY)))).pages[0]
    text = drawn.extract_text()
    shown = [f"{START + dt.timedelta(days=7 * i):%d %b}" for i in range(12)]
    assert sum(day in text for day in shown) >= 6, text
