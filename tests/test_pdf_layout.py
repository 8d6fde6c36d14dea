"""How the PDFs are laid out, read back from the PDF itself (pypdf text, positions and fonts):
any text a form accepts prints in full at its longest, table headers keep their words whole,
no heading is left alone at the foot of a page, page 1 of the progress report is used, and
right-to-left paragraphs of several lines read from top to bottom."""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import zipfile
from pathlib import Path

import pypdf
import pytest
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Spacer

from clinic import alerts, library, notes, pdf, plans, questionnaires, reports
from clinic.models import Role

from . import test_reports
from .conftest import record_screen
from .test_reports import browser

record = test_reports.record  # the same client in week 5 as tests/test_reports.py

# --- reading a PDF back -----------------------------------------------------------------------


def folded(text: str) -> str:
    """Text without any whitespace, so line wrapping (even inside a long word) does not
    matter."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def chunks(data: bytes) -> list[list[tuple[float, str, bool, float]]]:
    """Per page, the text drawn above the footer as (y, text, bold, font size)."""
    out = []
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        found: list[tuple[float, str, bool, float]] = []

        def visit(text, cm, tm, font, size, found=found):  # type: ignore[no-untyped-def]
            y = cm[5] + tm[5] * cm[3]
            if text.strip() and font is not None and y > pdf.MARGIN + 6 * mm:
                bold = "Bold" in str(font.get("/BaseFont", ""))
                found.append((y, text.strip(), bold, size * tm[3] * cm[3] or size))

        page.extract_text(visitor_text=visit)
        out.append(found)
    return out


def stranded_headings(data: bytes) -> list[tuple[int, str]]:
    """Headings (bold, 10 pt or larger) that are the last thing on a page before the next."""
    pages = chunks(data)
    out = []
    for number, found in enumerate(pages[:-1], start=1):
        if not found:
            continue
        lowest = min(y for y, *_ in found)
        last = [(t, bold, size) for y, t, bold, size in found if y == lowest]
        if all(bold and size >= 10 for _, bold, size in last):
            out.append((number, " ".join(t for t, *_ in last)))
    return out


def body(data: bytes) -> str:
    """The text of a PDF without its running footer and bold text (headings, table headers
    repeated on each page), whitespace removed: a note split across pages reads as one."""
    return folded("".join(t for page in chunks(data) for _, t, bold, _ in page if not bold))


# --- the longest text every form accepts -------------------------------------------------------

WORDS = (
    "checked the phone again after the message went unanswered and noticed the urge to ask "
    "for reassurance then waited ten minutes and the feeling eased a little"
).split()


def prose(tag: str, length: int) -> str:
    """Ordinary sentences of exactly `length` characters, starting and ending with `tag`."""
    start, end = f"{tag}-start ", f" {tag}-end."
    body, i = [], 0
    while len(" ".join(body)) < length:
        body.append(WORDS[i % len(WORDS)] + ("." if i % 17 == 16 else ""))
        i += 1
    middle = " ".join(body)[: length - len(start) - len(end)].rstrip()
    text = start + middle + end
    return text + "x" * (length - len(text))


def unbroken(tag: str, length: int) -> str:
    """A pasted run without a single space (a long link or a row of characters)."""
    return (tag + "-" + "abcdefghij" * length)[:length]


def _practice_worksheet(app) -> str:  # type: ignore[no-untyped-def]
    """A practice's own copy of the thought record whose answers may be as long as any
    worksheet's can be (library.LENGTH_CEILING), loaded the way the app loads it."""
    shipped = (library.CONTENT_DIR / "worksheets" / "thought_record.toml").read_text("utf-8")
    text = shipped.replace('key = "thought_record"', 'key = "long_thoughts"', 1)
    text = re.sub(
        r'type = "textarea"(.*?)max_length = \d+',
        lambda m: f'type = "textarea"{m.group(1)}max_length = {library.LENGTH_CEILING["textarea"]}',
        text,
        flags=re.S,
    )
    folder = Path(app.instance_path) / "content" / "worksheets"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "long_thoughts.toml").write_text(text, "utf-8")
    app.extensions["clinic.library"] = library.load_library(
        library.CONTENT_DIR, Path(app.instance_path) / "content"
    )
    return "long_thoughts"


@pytest.fixture
def longest(app, db, make_user):  # type: ignore[no-untyped-def]
    """A client whose record holds the longest text each form accepts: a signed note at every
    field's limit (one field a single unbroken run), a 5,000-character addendum, worksheet
    answers at the ceiling, 4,000-character feedback and alert note, 1,000-character
    instruction and next step."""
    therapist = make_user(Role.THERAPIST, name="Dr Long")
    client = make_user(Role.CLIENT, therapist=therapist, name="Morgan Long")
    first = dt.date.today() - dt.timedelta(days=7 * 4)
    expected: dict[str, str] = {}
    with app.app_context():
        key = _practice_worksheet(app)
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, first, first.weekday())
        for week, value in ((1, 2), (4, 1)):
            phq, _ = questionnaires.complete(
                db,
                client,
                "phq9",
                {str(i): value for i in range(1, 10)},
                client,
                plan=plan,
                week=week,
            )
            phq.completed_at = dt.datetime.combine(
                first + dt.timedelta(days=7 * (week - 1)), dt.time(12), tzinfo=dt.UTC
            )
        alert = next(a for a in alerts.client_alerts(db, client) if a.kind == "item9")
        expected["ack"] = prose("ack", 4000)
        alerts.acknowledge(
            db,
            alert,
            therapist,
            alerts.Acknowledgement(
                expected["ack"],
                "assessed",
                "reviewed",
                "phone",
                dt.date.today(),
                next_step=prose("next", 1000),
            ),
        )
        week = plans.position(plan, dt.date.today()).week
        expected["instruction"] = prose("instruction", 1000)
        a = plans.add_assignment(
            db, plan, key, week - 1, dt.date.today(), instruction=expected["instruction"]
        )
        ws = plans.worksheet(db, key)
        limit = library.LENGTH_CEILING["textarea"]
        rows = []
        for n in range(7):  # every row the section allows
            row = {
                f.key: (
                    prose(f"r{n}{f.key}", limit)
                    if f.type == "textarea"
                    else {"date": "2026-03-02", "text": "anxious"}.get(f.type, "50")
                )
                for f in ws.section("entries").fields
            }
            rows.append(row)
        sub = plans.submit(db, a, client, {"entries": rows}, 0)
        expected["feedback"] = prose("feedback", 4000)
        plans.review(db, sub, therapist, completion="all", quality=3, feedback=expected["feedback"])
        note = notes.start_note(db, client, therapist, dt.date.today())
        fields = {
            name: prose(name, limit) for name, limit in notes.LIMITS.items() if name != "plan"
        }
        fields["plan"] = unbroken("plan", notes.LIMITS["plan"])
        notes.save(
            db,
            note,
            therapist,
            note.version,
            {
                **fields,
                "session_date": dt.date.today(),
                "duration_minutes": 50,
                "attendance": "attended",
                "format": "video",
            },
        )
        notes.sign(db, note, therapist)
        expected["addendum"] = prose("addendum", 5000)
        notes.add_addendum(db, note, therapist, expected["addendum"])
        db.commit()
        expected |= fields
        summary = reports.gather_session_summary(db, client, dt.date.today(), note)
        quoted = [q for item in summary.homework for _, q in item.quotes]
        note_id = note.id
    return therapist, client, note_id, expected, quoted


def test_the_longest_text_every_form_accepts_prints_in_full(app, longest, tmp_path):
    therapist, client, note_id, expected, quoted = longest
    t = browser(app, therapist)
    base = f"/therapist/clients/{client.id}"

    report = t.get(f"{base}/progress-report.pdf")
    assert report.status_code == 200
    assert folded(expected["assessment"]) in body(report.data)
    assert not stranded_headings(report.data)

    summary = t.get(f"{base}/notes/{note_id}/summary.pdf")
    assert summary.status_code == 200
    text = body(summary.data)
    for name in (*notes.NOTE_FIELDS, "addendum", "ack", "feedback"):
        assert folded(expected[name]) in text, name
    assert len(quoted) == 14 and all(folded(q) in text for q in quoted)
    assert not stranded_headings(summary.data)

    bundle = t.get(f"{base}/record.zip")
    assert bundle.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(bundle.data))
    assert folded(expected["assessment"]) in body(archive.read("progress-report.pdf"))
    (inside,) = [n for n in archive.namelist() if n.startswith("session-summaries/")]
    assert folded(expected["plan"]) in body(archive.read(inside))

    out = tmp_path / "month-end"
    result = app.test_cli_runner().invoke(
        args=["export-reports", "--therapist", therapist.email, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    (written,) = out.glob(f"bedrock-client-{client.id}-progress-*.pdf")
    assert folded(expected["assessment"]) in body(written.read_bytes())


# --- table headers ------------------------------------------------------------------------------


def test_tables_fit_the_page_and_keep_header_words_whole(app, db, record, monkeypatch):
    therapist, client, note_id = record
    made = []
    real = pdf.table

    def recording(header, rows, widths=None):  # type: ignore[no-untyped-def]
        t = real(header, rows, widths)
        made.append((list(header), t))
        return t

    monkeypatch.setattr(pdf, "table", recording)
    t = browser(app, therapist)
    assert t.get(f"/therapist/clients/{client.id}/progress-report.pdf").status_code == 200
    assert t.get(f"/therapist/clients/{client.id}/notes/{note_id}/summary.pdf").status_code == 200
    headers = {h for header, _ in made for h in header}
    assert {
        "Reviewed",
        "Quality (0–4)",
        "Reliable change (Jacobson–Truax)",
        "Attendance",
    } <= headers
    style = pdf.styles()["cellhead"]
    text_width = 210 * mm - 2 * pdf.MARGIN - 12
    for header, table in made:
        assert sum(table._colWidths) <= text_width + 0.01  # inside the frame's padding
        for title, width in zip(header, table._colWidths, strict=True):
            room = width - 8  # the cell's left and right padding
            for word in title.split():
                used = stringWidth(word, pdf.BOLD, style.fontSize)
                assert used <= room, f"{word!r} needs {used:.1f} pt, its column has {room:.1f}"


# --- headings -----------------------------------------------------------------------------------


@pytest.mark.parametrize("style", ["h2", "h3"])
@pytest.mark.parametrize("room", [20, 28, 36, 60, 132])
def test_a_heading_never_ends_a_page(style, room):
    """Whatever space is left at the foot of a page, a heading goes over with its text; where
    the heading and the first lines of its text fit, they stay (a long note is not moved
    whole, leaving the page blank)."""
    height = 297 * mm - pdf.MARGIN - (pdf.MARGIN + 6 * mm) - 12  # the frame, less its padding
    story = [
        Spacer(1, height - room),
        pdf.para("Assessment", style),
        pdf.para(prose("body", 1500)),
    ]
    data = pdf.render(story, title="t", footer="f")
    assert not stranded_headings(data)
    pages = pypdf.PdfReader(io.BytesIO(data)).pages
    heading_page = next(i for i, p in enumerate(pages) if "Assessment" in p.extract_text())
    assert "body-start" in pages[heading_page].extract_text()
    assert heading_page == (0 if room >= 60 else 1)


# --- the first page ------------------------------------------------------------------------------


def test_the_progress_reports_first_page_is_filled(app, record):
    therapist, client, _ = record
    data = browser(app, therapist).get(f"/therapist/clients/{client.id}/progress-report.pdf").data
    first = chunks(data)[0]
    lowest = min(y for y, *_ in first)
    top = 297 * mm - pdf.MARGIN
    assert lowest < top - (top - pdf.MARGIN) / 2, "page 1 is less than half used"


# --- right-to-left paragraphs ------------------------------------------------------------------

ARABIC = (
    "شعرت بالقلق طوال الأسبوع عندما لم يرد صديقي على رسائلي. "
    "كتبت الأفكار التلقائية في السجل كل مساء وراجعتها مع المعالج. "
    "لاحظت أن الأدلة ضد الفكرة كانت أقوى مما توقعت. "
    "في نهاية الأسبوع جربت أن أسأل مباشرة بدلا من التحقق من الهاتف. "
    "سأواصل هذا التمرين في الأسبوع القادم."
)
HEBREW = (
    "הרגשתי חרדה כל השבוע כשחברתי לא ענתה להודעות שלי. "
    "רשמתי את המחשבות האוטומטיות ביומן בכל ערב ועברתי עליהן עם המטפלת. "
    "שמתי לב שהראיות נגד המחשבה היו חזקות יותר ממה שציפיתי. "
    "בסוף השבוע ניסיתי לשאול ישירות במקום לבדוק את הטלפון. "
    "אמשיך בתרגיל הזה גם בשבוע הבא."
)


def reads_in_order(text: str, paragraph: str) -> None:
    """All of `paragraph` is printed, line after line in reading order (full stops aside:
    pypdf puts one that ends a right-to-left line at either end of it)."""
    printed = folded(text).replace(".", "")
    sentences = [folded(s).replace(".", "") for s in paragraph.split(". ")]
    where = [printed.find(s) for s in sentences]
    assert -1 not in where, (sentences, text)
    assert where == sorted(where), (where, text)
    assert folded(paragraph).replace(".", "") in printed


@pytest.mark.parametrize("paragraph", [ARABIC, HEBREW], ids=["Arabic", "Hebrew"])
def test_a_right_to_left_paragraph_reads_from_the_top(app, db, record, paragraph):
    therapist, client, _ = record
    with app.app_context():
        note = notes.start_note(db, client, therapist, dt.date.today() - dt.timedelta(days=1))
        note.assessment = paragraph
        note.attendance = "attended"
        notes.sign(db, note, therapist)
        db.commit()
        note_id = note.id
    t = browser(app, therapist)
    summary = t.get(f"/therapist/clients/{client.id}/notes/{note_id}/summary.pdf").data
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(summary)).pages)
    start = text.index("Assessment")
    printed = text[start : text.index("Plan", start)]
    assert printed.count("\n") >= 4  # several lines, so wrapping is tested
    reads_in_order(printed, paragraph)
    report = t.get(f"/therapist/clients/{client.id}/progress-report.pdf").data
    text = "\n".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(report)).pages)
    reads_in_order(text[text.index("Sessions (signed notes)") :], paragraph)
    # on its own, in a paragraph of the body
    alone = pdf.render([pdf.para(paragraph * 2)], title="t", footer="f")
    reads_in_order(pypdf.PdfReader(io.BytesIO(alone)).pages[0].extract_text(), paragraph)


def test_a_label_prints_in_the_bold_font_and_its_value_in_the_regular_one():
    """pdf.labelled promises 'Label: value' with the label in bold (Attendance:, Reason:...)."""
    import io

    import pypdf

    from clinic import pdf

    data = pdf.render(
        [pdf.labelled("Attendance:", "attended"), pdf.labelled("Причина:", "переезд")],
        title="t",
        footer="f",
    )
    drawn = set()

    def visitor(text, cm, tm, font_dict, font_size):  # type: ignore[no-untyped-def]
        if text.strip() and font_dict:
            drawn.add((text.strip(), str(font_dict.get("/BaseFont")).split("+")[-1]))

    pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text(visitor_text=visitor)
    assert ("Attendance:", "DejaVuSans-Bold") in drawn and ("attended", "DejaVuSans") in drawn
    assert ("Причина:", "DejaVuSans-Bold") in drawn and ("переезд", "DejaVuSans") in drawn
