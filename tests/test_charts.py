"""Charts: accessible SVG for pages and the same chart as a ReportLab drawing for PDFs."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET

from pypdf import PdfReader
from reportlab.graphics import renderPDF

from clinic import charts

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
    labels = [t.text for t in root.findall("s:text", ns)]
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
