"""The floors Bedrock is measured against: the least any Python web app could do to show the
same thing, run in the same process (bench/run.py) or under the same gunicorn (bench/load.py).

  table     a bare Flask route rendering the caseload table (the same rows, columns and
            sparklines) from a list in memory: no database, no sign-in, no layout
  pdf       bare ReportLab (SimpleDocTemplate, Paragraph, Table) drawing the same paragraphs,
            tables and charts as a Bedrock PDF, in the same embedded font

Bedrock's pages and PDFs are then reported as a ratio to their floor, which moves much less
from machine to machine than a time in milliseconds.

For gunicorn: `gunicorn 'floor:from_file()'` with BENCH_FLOOR_ROWS naming a JSON file of rows
(written by bench/load.py from the seeded practice)."""

from __future__ import annotations

import copy
import io
import json
import os
from typing import Any

from flask import Flask, Response, render_template_string

TABLE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Caseload</title></head><body><main>
<h1>Your caseload</h1>
<table>
<caption>{{ rows|length }} clients</caption>
<thead><tr><th>Client</th><th>Week</th><th>Homework</th><th>PHQ-9</th><th>GAD-7</th>
<th>Trust (0–10)</th><th>Change</th><th>Last activity</th><th>Next session</th>
<th>Attention</th></tr></thead>
<tbody>
{% for r in rows %}
<tr><th scope="row"><a href="/clients/{{ r.id }}">{{ r.name }}</a></th>
<td>{{ r.status }}</td>
<td>This week {{ r.done }}/{{ r.total }}<br>{{ r.completion }}% done overall · quality {{ r.quality }}/4
{% if r.overdue %}<br>{{ r.overdue }} overdue{% endif %}{% if r.to_review %}<br>{{ r.to_review }} to review{% endif %}</td>
<td>{% if r.phq9 %}{{ r.phq9[-1] }} {{ spark(r.phq9, 27)|safe }} from {{ r.phq9[0] }}{% endif %}</td>
<td>{% if r.gad7 %}{{ r.gad7[-1] }} {{ spark(r.gad7, 21)|safe }} from {{ r.gad7[0] }}{% endif %}</td>
<td>{% if r.trust %}{{ r.trust[-1] }} {{ spark(r.trust, 10)|safe }} from {{ r.trust[0] }}{% endif %}</td>
<td>{{ r.change }}</td>
<td>{{ r.activity }}</td>
<td>{{ r.next }}</td>
<td>{% for a in r.alerts %}Alert · {{ a }} {% endfor %}{{ r.reasons|join('; ') }}</td></tr>
{% endfor %}
</tbody></table></main></body></html>"""


def spark(values: list[int], high: int) -> str:
    """The same inline SVG polyline the dashboard draws, written the plainest way."""
    if len(values) < 2:
        return ""
    recent = values[-6:]
    step = 60 / (len(recent) - 1)
    points = " ".join(f"{i * step:.1f},{17 - (v / high) * 16:.1f}" for i, v in enumerate(recent))
    return f'<svg width="60" height="18"><polyline points="{points}"/></svg>'


def table_app(rows: list[dict[str, Any]]) -> Flask:
    """A Flask app whose one route renders the caseload table from `rows`."""
    app = Flask("floor")

    @app.get("/table")
    def table() -> str:
        return render_template_string(TABLE, rows=rows, spark=spark)

    return app


def pdf_app(specs: dict[str, list[tuple[Any, ...]]], font: str, margin: float) -> Flask:
    """A Flask app whose route /pdf/<name> draws one of `specs` (pdf_spec) with bare
    ReportLab, as a download."""
    app = Flask("floor-pdf")

    @app.get("/pdf/<name>")
    def document(name: str) -> Response:
        return Response(pdf_document(specs[name], font, margin), mimetype="application/pdf")

    return app


def from_file() -> Flask:
    """The table floor for gunicorn, its rows read from BENCH_FLOOR_ROWS."""
    with open(os.environ["BENCH_FLOOR_ROWS"], encoding="utf-8") as fh:
        return table_app(json.load(fh))


def table_rows(rows: list[Any]) -> list[dict[str, Any]]:
    """Plain dictionaries of what the dashboard shows, from Bedrock's own caseload rows (read
    once, outside any timing), so that the floor renders the very same figures."""
    return [
        {
            "id": r.client.id,
            "name": r.client.display_name,
            "status": r.status,
            "done": r.this_week_done,
            "total": r.this_week_total,
            "completion": round((r.completion or 0) * 100),
            "quality": f"{r.quality or 0:.1f}",
            "overdue": r.overdue,
            "to_review": r.to_review,
            "phq9": list(r.phq9),
            "gad7": list(r.gad7),
            "trust": list(r.trust),
            "change": r.phq9_change or "",
            "activity": f"{r.days_quiet} days ago",
            "next": str(r.next_session or "—"),
            "alerts": [a.kind for a in r.open_alerts],
            "reasons": list(r.reasons),
        }
        for r in rows
    ]


def pdf_spec(story: list[Any]) -> list[tuple[Any, ...]]:
    """What a Bedrock PDF's story shows, as plain data: paragraphs as their plain text and
    size, tables as rows of cells, charts as the drawings themselves (drawing them is
    ReportLab's work; building them was Bedrock's), spacers and page breaks. Read once,
    outside any timing; the floor builds its document from it."""
    from reportlab.graphics.shapes import Drawing
    from reportlab.platypus import KeepTogether, PageBreak, Paragraph, Spacer, Table

    def cell(value: Any) -> tuple[Any, ...]:
        if isinstance(value, Paragraph):
            return ("p", value.getPlainText(), value.style.fontSize, value.style.leading)
        if isinstance(value, Drawing):
            return ("d", value)
        if isinstance(value, list | tuple):
            return ("many", [cell(v) for v in value])
        return ("s", "" if value is None else str(value))

    out: list[tuple[Any, ...]] = []
    for item in story:
        if isinstance(item, KeepTogether):
            out += pdf_spec(list(item._content))
        elif isinstance(item, Table):
            rows = [[cell(v) for v in row] for row in item._cellvalues]
            out.append(("t", rows, list(item._colWidths)))
        elif isinstance(item, Paragraph | Drawing):
            out.append(cell(item))
        elif isinstance(item, PageBreak):
            out.append(("break",))
        elif isinstance(item, Spacer):
            out.append(("gap", item.height))
    return out


def pdf_document(spec: list[tuple[Any, ...]], font: str, margin: float = 72) -> bytes:
    """A bare-ReportLab PDF of the same content as a Bedrock document (pdf_spec): the same
    paragraphs (escaped, in the same embedded font and size), tables with the same cells and
    column widths, the same charts, spacers and page breaks; no page numbers, footer or
    keep-with-next rules, no font fallback per character. `margin` as the document's own
    (its tables and charts are as wide as its margins allow)."""
    from xml.sax.saxutils import escape

    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table

    styles: dict[tuple[float, float], ParagraphStyle] = {}

    def flowable(item: tuple[Any, ...]) -> Any:
        kind = item[0]
        if kind == "p":
            size, leading = item[2], item[3]
            style = styles.get((size, leading))
            if style is None:
                style = styles[(size, leading)] = ParagraphStyle(
                    "p", fontName=font, fontSize=size, leading=leading
                )
            return Paragraph(escape(item[1]), style)
        if kind == "d":
            # A shallow copy: ReportLab marks a flowable it moves to the next page, and a
            # marked one that does not fit again fails the next build.
            return copy.copy(item[1])
        if kind == "many":
            return [flowable(i) for i in item[1]]
        if kind == "s":
            return item[1]
        if kind == "t":
            table = Table(
                [[flowable(c) for c in row] for row in item[1]],
                colWidths=item[2],
                repeatRows=1,
            )
            table.setStyle([("FONTNAME", (0, 0), (-1, -1), font)])
            return table
        if kind == "break":
            return PageBreak()
        return Spacer(1, item[1])

    out = io.BytesIO()
    SimpleDocTemplate(
        out,
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
    ).build([flowable(item) for item in spec])
    return out.getvalue()
