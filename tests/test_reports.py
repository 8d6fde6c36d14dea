"""Reports and exports, read back the way a person would read them: PDF text extracted with
pypdf, CSV parsed, the FHIR bundle validated against the R4B models, the ZIP opened."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import unicodedata
import zipfile

import pypdf
import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import alerts, notes, pdf, plans, questionnaires, reports
from clinic import answers as engine
from clinic.models import AuditEvent, Role

from .conftest import PASSWORD, record_screen

AUTOMATIC = "She is going to leave me like the others did."
BALANCED = "She has stayed through hard months; one late reply is not leaving."


def pdf_text(data: bytes) -> str:
    """All the text of a PDF, whitespace folded (line wrapping must not matter)."""
    assert data.startswith(b"%PDF")
    reader = pypdf.PdfReader(io.BytesIO(data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text))


def browser(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert c.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return c


def _thought_record(ws, automatic: str = AUTOMATIC, balanced: str = BALANCED):  # type: ignore[no-untyped-def]
    row = {
        "date": "2026-03-02",
        "situation": "No reply to my message for four hours.",
        "automatic_thought": automatic,
        "belief_before": "80",
        "emotion": "anxious",
        "intensity_before": "75",
        "evidence_for": "She was quiet at dinner.",
        "evidence_against": "She texted when she got to work.",
        "balanced_thought": balanced,
        "belief_balanced": "60",
        "intensity_after": "40",
    }
    return engine.normalise_raw(ws, {"entries": [row]})


@pytest.fixture
def record(app, db, make_user):  # type: ignore[no-untyped-def]
    """A client in week 5: PHQ-9 and GAD-7 at weeks 1 and 4, a reviewed thought record, an
    acknowledged item-9 alert, a signed note with an addendum for today's session."""
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist, name="Jordan Avery")
    first = dt.date.today() - dt.timedelta(days=7 * 4)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, first, first.weekday())
        for week, value, item9 in ((1, 2, 1), (4, 1, 0)):
            when = dt.datetime.combine(
                first + dt.timedelta(days=7 * (week - 1)), dt.time(12), tzinfo=dt.UTC
            )
            phq, _ = questionnaires.complete(
                db,
                client,
                "phq9",
                {str(i): value if i < 9 else item9 for i in range(1, 10)},
                client,
                plan=plan,
                week=week,
                slot="baseline" if week == 1 else "fortnightly",
            )
            gad, _ = questionnaires.complete(
                db,
                client,
                "gad7",
                {str(i): value for i in range(1, 8)},
                client,
                plan=plan,
                week=week,
                slot="baseline" if week == 1 else "fortnightly",
            )
            phq.completed_at = gad.completed_at = when
        alert = next(a for a in alerts.client_alerts(db, client) if a.kind == "item9")
        alerts.acknowledge(
            db,
            alert,
            therapist,
            alerts.Acknowledgement(
                "Rang the same day; no plan or intent.",
                "assessed",
                "reviewed",
                "phone",
                dt.date.today(),
            ),
        )
        ws = plans.worksheet(db, "thought_record")
        a = next(x for x in plan.assignments if x.worksheet_key == "thought_record")
        sub = plans.submit(db, a, client, _thought_record(ws), 0)
        plans.review(db, sub, therapist, completion="all", quality=3, feedback="Careful work.")
        note = notes.start_note(db, client, therapist, dt.date.today())
        note.assessment = "Checking less; still anxious about late replies."
        note.plan = "Next ladder step: ask directly instead of checking."
        note.homework_set = "Positive interactions log every evening."
        notes.sign(db, note, therapist)
        notes.add_addendum(db, note, therapist, "Client phoned to move next session.")
        db.commit()
        note_id = note.id
    return therapist, client, note_id


# --- session summary --------------------------------------------------------------------------


def test_session_summary_of_a_signed_note_has_everything_a_session_needs(app, record):
    therapist, client, note_id = record
    t = browser(app, therapist)
    response = t.get(f"/therapist/clients/{client.id}/notes/{note_id}/summary.pdf")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    text = pdf_text(response.data)
    for expected in (
        "Session summary",
        "Client: Jordan Avery",
        "Therapist: Dr Rivers",
        "Plan: Week 5 of 12",
        # homework with its key answers quoted and the derived figures
        "Thought record",
        f"“{AUTOMATIC}”",
        f"“{BALANCED}”",
        "emotion 75 → 40 (-35)",
        "Done: all; quality 3/4. Feedback: Careful work.",
        # scores with band, change since baseline and reliable change
        "PHQ-9",
        "Baseline 17, change -9",
        "Jacobson–Truax: reliable improvement (RCI -4.00); recovered",
        "Baseline 14, change -7",
        "GAD-7",
        # the alert and how it was handled
        "Self-harm item answered",
        "Rang the same day; no plan or intent.",
        # the signed note, its addendum and next week's homework
        "Checking less; still anxious about late replies.",
        "Next ladder step: ask directly instead of checking.",
        "Client phoned to move next session.",
        "Homework set for the coming week",
        "Signed by Dr Rivers",
        "Confidential",
        "Page 1 of",
    ):
        assert expected in text, expected


def test_session_summary_for_a_date_without_a_note(app, db, record):
    therapist, client, _ = record
    t = browser(app, therapist)
    day = dt.date.today() - dt.timedelta(days=8)  # before the week-4 scores
    response = t.get(f"/therapist/clients/{client.id}/session-summary.pdf?date={day}")
    text = pdf_text(response.data)
    assert "No session note has been written for this date." in text
    assert "Signature: ____" in text
    # scores after that day are not in a summary of that day
    assert "Baseline 17, change -9" not in text
    wrong = t.get(f"/therapist/clients/{client.id}/session-summary.pdf?date=soon")
    assert wrong.status_code == 302 and wrong.headers["Location"].endswith("#reports")
    page = BeautifulSoup(t.get(wrong.headers["Location"]).data, "html.parser")
    field = page.find(id="summary-date")
    assert field["value"] == "soon" and field["aria-invalid"] == "true"  # the typing is kept
    error = page.find(id="summary-date-error")
    assert "Enter the session date as a date" in error.get_text()
    assert "summary-date-error" in field["aria-describedby"]


# --- progress report --------------------------------------------------------------------------


def test_progress_report_lists_every_score_and_the_therapists_events(app, db, record):
    therapist, client, _ = record
    first = dt.date.today() - dt.timedelta(days=7 * 4)
    event = "Moved in together after months of looking for a flat near both jobs"
    with app.app_context():
        plan = plans.open_plan(db, client)
        for week, value in ((2, 3), (3, 2)):  # weeks 1 and 4 are in the record already
            phq, _ = questionnaires.complete(
                db,
                client,
                "phq9",
                {str(i): value for i in range(1, 10)},
                client,
                plan=plan,
                week=week,
                slot="fortnightly",
            )
            phq.completed_at = dt.datetime.combine(
                first + dt.timedelta(days=7 * (week - 1)), dt.time(12), tzinfo=dt.UTC
            )
        notes.add_event(db, client, therapist, first + dt.timedelta(days=10), event)
        db.commit()
    text = pdf_text(
        browser(app, therapist).get(f"/therapist/clients/{client.id}/progress-report.pdf").data
    )
    table = text[
        text.index("PHQ-9: Patient Health Questionnaire-9") : text.index("GAD-7: Generalized")
    ]
    for week, total, band in (
        (1, 17, "moderately severe"),
        (2, 27, "severe"),
        (3, 18, "moderately severe"),
        (4, 8, "mild"),
    ):
        day = first + dt.timedelta(days=7 * (week - 1))
        assert f"{day:%d %b %Y} {total} {band}" in table, (week, table[:1500])
    assert f"Events: {first + dt.timedelta(days=10):%d %b %Y}: {event}." in table
    assert "Moved in" in table  # its short label on the chart
    own = pdf_text(browser(app, client).get("/me/progress-report.pdf").data)
    assert "Moved in" not in own  # the therapist's notes stay in the therapist's copy


def test_progress_report_summary_charts_tables_outcome_and_appendix(app, record):
    therapist, client, _ = record
    t = browser(app, therapist)
    response = t.get(f"/therapist/clients/{client.id}/progress-report.pdf")
    text = pdf_text(response.data)
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    first_page = re.sub(r"\s+", " ", reader.pages[0].extract_text())
    assert "What changed" in first_page
    assert (
        "PHQ-9 (depression symptoms over the last two weeks) went from 17 (baseline) to 8"
        in first_page
    )
    for expected in (
        "PHQ-9: Patient Health Questionnaire-9",
        "Baseline",
        "Latest",
        "moderately severe",
        "NHS Talking Therapies outcome (a different convention)",
        "NHS Talking Therapies (PHQ-9 and GAD-7 together): a case at the start; reliable improvement",
        "caseness PHQ-9 ≥ 10 or GAD-7 ≥ 8",
        "Homework by week",
        "4 Catching and testing automatic thoughts 1 1 1 all 3.0",
        "Sessions (signed notes)",
        "Checking less; still anxious about late replies.",
        # the appendix explains each statistic with the numbers and sources used
        "Appendix: how the figures are worked out",
        "S_diff = SD × √2 × √(1 − r) = 4.8 × √2 × √(1 − 0.89)",
        "a change of 5 points or more",
        "Richards DA",
        "Kroenke K",
    ):
        assert expected in text, expected


def test_progress_report_for_a_date_range_leaves_out_what_is_outside(app, record):
    therapist, client, _ = record
    t = browser(app, therapist)
    start = dt.date.today() - dt.timedelta(days=10)
    response = t.get(f"/therapist/clients/{client.id}/progress-report.pdf?from={start}")
    text = pdf_text(response.data)
    assert "one score so far, 8 (mild)" in text  # the week-1 baseline is outside the range
    assert "went from 17" not in text
    backwards = t.get(
        f"/therapist/clients/{client.id}/progress-report.pdf?from={dt.date.today()}&to={start}"
    )
    assert backwards.status_code == 302
    page = BeautifulSoup(t.get(backwards.headers["Location"]).data, "html.parser")
    assert page.find(id="report-from")["value"] == str(dt.date.today())
    assert page.find(id="report-to")["aria-invalid"] == "true"
    assert "on or after the start date" in page.find(id="report-to-error").get_text()
    garbled = t.get(f"/therapist/clients/{client.id}/progress-report.pdf?from=last+spring")
    page = BeautifulSoup(t.get(garbled.headers["Location"]).data, "html.parser")
    assert page.find(id="report-from")["value"] == "last spring"
    assert "Enter the start date as a date" in page.find(id="report-from-error").get_text()


def test_the_clients_own_report_has_no_therapist_notes(app, db, record):
    _, client, _ = record
    c = browser(app, client)
    response = c.get("/me/progress-report.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    assert "My progress report" in text
    assert "Your latest score was 8" in text
    assert "Checking less" not in text and "Rang the same day" not in text
    assert "Sessions (signed notes)" not in text
    client.practice.clients_see_scores = False
    db.commit()
    hidden = pdf_text(c.get("/me/progress-report.pdf").data)
    assert "talks scores through in your sessions" in hidden
    assert "PHQ-9" not in hidden and "Your latest score" not in hidden


# --- robustness -----------------------------------------------------------------------------

HOSTILE = (
    '<b>bold?</b> & <a href="https://evil.example/x">click</a> '
    '<img src="/etc/passwd"/> <font color="red">red</font> <para>x</para>'
)


def test_user_text_prints_literally_and_adds_no_link_image_or_fetch(app, db, record):
    therapist, client, note_id = record
    with app.app_context():
        note = notes.start_note(db, client, therapist, dt.date.today() - dt.timedelta(days=1))
        note.assessment = HOSTILE
        db.commit()
        other_id = note.id
    t = browser(app, therapist)
    data = t.get(f"/therapist/clients/{client.id}/notes/{other_id}/summary.pdf").data
    text = pdf_text(data)
    assert '<b>bold?</b> & <a href="https://evil.example/x">click</a>' in text
    assert '<img src="/etc/passwd"/> <font color="red">red</font> <para>x</para>' in text
    reader = pypdf.PdfReader(io.BytesIO(data))
    for page in reader.pages:
        assert "/Annots" not in page  # no link was made
        xobjects = page["/Resources"].get("/XObject", {})
        assert not any(x.get_object().get("/Subtype") == "/Image" for x in xobjects.values())
    assert b"evil.example" not in data.replace(b" ", b"") or b"/URI" not in data


def test_text_markup_is_never_interpreted():
    markup = pdf.text('<a href="x">&amp;</a>\nline two')
    assert markup.startswith("&lt;a href=")
    assert "&amp;amp;" in markup and "<br/>" in markup


SCRIPTS = {
    "Arabic": "مرحبا بك",
    "Chinese": "你好，信任",
    "Korean": "안녕하세요",
    "emoji": "🙂 👍",
    "accents": "Zoë Ångström, e\u0301",
}


def test_any_script_prints_in_an_embedded_font(app, db, make_user):
    therapist = make_user(Role.THERAPIST, name="Dr Ōkubo")
    client = make_user(Role.CLIENT, therapist=therapist, name="Léa 李 مريم 🙂")
    first = dt.date.today() - dt.timedelta(days=7)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, first, first.weekday())
        ws = plans.worksheet(db, "thought_record")
        a = next(x for x in plan.assignments if x.worksheet_key == "thought_record")
        a.week = 1
        a.due_on = dt.date.today()
        plans.submit(
            db, a, client, _thought_record(ws, " · ".join(SCRIPTS.values()), "平静 ✓ calm"), 0
        )
        note = notes.start_note(db, client, therapist, dt.date.today())
        db.commit()
        db.expire_all()
        data = reports.session_summary_pdf(
            reports.gather_session_summary(db, client, dt.date.today(), note)
        )
    text = pdf_text(data)
    for part in ("Léa 李", "مريم", "🙂", "Dr Ōkubo"):
        assert part in text, part
    for name, sample in SCRIPTS.items():
        # Word by word: the quote starts in Arabic, so it reads right to left, and where it
        # wraps a line may end inside the run of another script (pypdf then puts the Arabic
        # of that line after it).
        for word in unicodedata.normalize("NFKC", sample).split():
            assert word in text, name
    assert "平静 ✓ calm" in text
    reader = pypdf.PdfReader(io.BytesIO(data))
    fonts = {}
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            fonts[font["/BaseFont"]] = font
    names = {str(n).split("+")[-1] for n in fonts}
    assert {"DejaVuSans", "DroidSansFallback", "BedrockHangul", "Symbola"} <= names
    for font in fonts.values():  # every font is embedded, none is left to the reader
        assert "/FontFile2" in font["/FontDescriptor"].get_object(), font["/BaseFont"]


def test_every_character_has_a_glyph_in_the_font_chosen_for_it():
    covered = pdf.fonts()
    sample = "".join(SCRIPTS.values()) + "平静✓"
    markup = pdf.text(sample)
    for face, chunk in re.findall(r'<font face="([^"]+)">([^<]*)</font>', markup):
        assert all(ord(ch) in covered[face] for ch in chunk), (face, chunk)
    plain = re.sub(r"<font[^>]*>[^<]*</font>", "", markup)
    assert all(ord(ch) in covered[pdf.BODY] for ch in plain if ch != " ")


def test_an_empty_record_and_a_single_score_give_correct_reports(app, db, make_user):
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist, name="New Client")
    today = dt.date.today()
    with app.app_context():
        empty = pdf_text(
            reports.progress_report_pdf(reports.gather_progress_report(db, client, today))
        )
        summary = pdf_text(
            reports.session_summary_pdf(reports.gather_session_summary(db, client, today, None))
        )
        assert "No plan in progress" in empty
        assert "No questionnaires answered and no homework set in this period yet." in empty
        assert "No questionnaires answered yet." in summary
        assert "No homework was due or sent." in summary
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, today, today.weekday())
        questionnaires.complete(
            db, client, "gad7", {str(i): 1 for i in range(1, 8)}, client, plan=plan, week=1
        )
        db.commit()
        one = pdf_text(
            reports.progress_report_pdf(reports.gather_progress_report(db, client, today))
        )
    assert "GAD-7: one score so far, 7 (mild)." in one
    assert "One score so far" in one
    assert "NHS Talking Therapies outcome" not in one  # needs two of each


def test_a_whole_plan_with_every_worksheet_done(app, db, make_user):
    from .worksheet_data import valid_formdata

    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist, name="Twelve Weeks")
    first = dt.date.today() - dt.timedelta(days=7 * 12)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, first, first.weekday())
        titles = set()
        for a in plan.assignments:
            ws = plans.worksheet(db, a.worksheet_key)
            form = valid_formdata(ws)
            raw = {}
            for s in ws.sections:
                if s.repeat:
                    raw[s.key] = [
                        {f.key: form[f"{s.key}-{i}-{f.key}"] for f in s.fields}
                        for i in range(s.min_rows)
                    ]
                else:
                    raw[s.key] = {f.key: form[f"{s.key}-{f.key}"] for f in s.fields}
            sub = plans.submit(db, a, client, raw, 0)
            plans.review(db, sub, therapist, completion="most", quality=2, feedback="")
            titles.add(ws.title)
        for week in (1, 6, 12):
            questionnaires.complete(
                db,
                client,
                "phq9",
                {str(i): max(0, 3 - week // 4) if i < 9 else 0 for i in range(1, 10)},
                client,
                plan=plan,
                week=week,
            )
        db.commit()
        report = reports.gather_progress_report(db, client, dt.date.today())
        data = reports.progress_report_pdf(report)
        note = notes.start_note(db, client, therapist, dt.date.today())
        summary = reports.session_summary_pdf(
            reports.gather_session_summary(db, client, dt.date.today(), note)
        )
    text = pdf_text(data)
    assert len(report.homework) == 12
    assert [(w.sent, w.quality) for w in report.homework if w.set] == [
        (w.set, "2.0") for w in report.homework if w.set
    ], report.homework
    assert "Mid-point" in text and "went from 24 (baseline) to 0" in text
    summary_text = pdf_text(summary)
    assert sum(title in summary_text for title in titles) == len(titles) == 14


def test_the_same_record_gives_the_same_bytes(app, db, record):
    _, client, note_id = record
    with app.app_context():
        from clinic.models import SessionNote

        note = db.get(SessionNote, note_id)
        today = dt.date.today()
        first = reports.session_summary_pdf(reports.gather_session_summary(db, client, today, note))
        again = reports.session_summary_pdf(reports.gather_session_summary(db, client, today, note))
        report = reports.progress_report_pdf(reports.gather_progress_report(db, client, today))
        report_again = reports.progress_report_pdf(
            reports.gather_progress_report(db, client, today)
        )
    assert first == again and report == report_again


# --- downloads: ownership, headers, audit -------------------------------------------------------

DOWNLOADS = [
    "notes/{note}/summary.pdf",
    "session-summary.pdf?date={today}",
    "progress-report.pdf",
    "questionnaires.csv",
    "homework.csv",
    "check-ins.csv",
    "fhir.json",
    "record.zip",
]


@pytest.mark.parametrize("path", DOWNLOADS)
def test_downloads_are_private_uncached_named_by_the_server_and_audited(
    app, db, make_user, record, path
):
    therapist, client, note_id = record
    url = f"/therapist/clients/{client.id}/" + path.format(note=note_id, today=dt.date.today())
    stranger = make_user(Role.THERAPIST)
    assert browser(app, stranger).get(url).status_code == 404
    before = db.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    response = browser(app, therapist).get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith('attachment; filename="bedrock-client-')
    assert "Jordan" not in disposition  # the name never goes into a file name
    db.expire_all()
    events = db.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "export").order_by(AuditEvent.id)
    ).all()
    assert events and events[-1].subject_id == client.id and events[-1].user_id == therapist.id
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) > before


def test_the_client_sees_the_download_in_their_access_log(app, db, record):
    therapist, client, _ = record
    browser(app, therapist).get(f"/therapist/clients/{client.id}/record.zip")
    page = browser(app, client).get("/me/access").get_data(as_text=True)
    assert "Dr Rivers" in page


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_rows_are_tidy_numbers_stay_numbers_and_formulas_are_neutralised(
    app, db, make_user, record
):
    therapist, client, _ = record
    client.display_name = '=HYPERLINK("http://evil")'
    db.commit()
    t = browser(app, therapist)
    rows = list(
        csv.DictReader(
            io.StringIO(
                t.get(f"/therapist/clients/{client.id}/questionnaires.csv").get_data(as_text=True)
            )
        )
    )
    assert len(rows) == 4  # PHQ-9 and GAD-7 twice each: one row per administration
    phq = [r for r in rows if r["instrument"] == "phq9"]
    assert [r["total"] for r in phq] == ["17", "8"]  # not '17: still numbers
    assert phq[0]["band"] == "moderately severe" and phq[0]["flags"] == "item9"
    assert all(r["client"].startswith("'=HYPERLINK") for r in rows)
    homework = list(
        csv.DictReader(
            io.StringIO(
                t.get(f"/therapist/clients/{client.id}/homework.csv").get_data(as_text=True)
            )
        )
    )
    assert len(homework) == 1 and homework[0]["worksheet"] == "thought_record"
    assert homework[0]["quality"] == "3" and homework[0]["status"] == "reviewed"
    assert AUTOMATIC in json.loads(homework[0]["answers_json"])["entries"][0]["automatic_thought"]


def test_caseload_csv_has_every_client_in_care_and_nobody_else(app, db, make_user, record):
    therapist, client, _ = record
    second = make_user(Role.CLIENT, therapist=therapist, name="Second")
    elsewhere = make_user(Role.CLIENT, name="Not Yours")
    with app.app_context():
        for person in (second, elsewhere):
            questionnaires.complete(db, person, "gad7", {str(i): 0 for i in range(1, 8)}, person)
        db.commit()
    text = (
        browser(app, therapist).get("/therapist/exports/questionnaires.csv").get_data(as_text=True)
    )
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["client"] for r in rows} == {"Jordan Avery", "Second"}
    homework = browser(app, therapist).get("/therapist/exports/homework.csv")
    assert homework.status_code == 200 and "Not Yours" not in homework.get_data(as_text=True)


# --- FHIR ---------------------------------------------------------------------------------------


def test_fhir_bundle_is_valid_and_uses_the_verified_loinc_codes(app, db, record):
    from fhir.resources.R4B.bundle import Bundle

    therapist, client, _ = record
    with app.app_context():
        questionnaires.complete(db, client, "wsas", {str(i): 2 for i in range(1, 6)}, client)
        db.commit()
    body = browser(app, therapist).get(f"/therapist/clients/{client.id}/fhir.json")
    assert body.mimetype == "application/fhir+json"
    data = json.loads(body.data)
    Bundle.model_validate(data)  # raises on anything invalid
    resources = [e["resource"] for e in data["entry"]]
    for entry in data["entry"]:
        Bundle.model_validate({"resourceType": "Bundle", "type": "collection", "entry": [entry]})
    kinds = [r["resourceType"] for r in resources]
    assert kinds.count("Patient") == 1
    assert kinds.count("QuestionnaireResponse") == kinds.count("Observation") == 5
    observations = [r for r in resources if r["resourceType"] == "Observation"]
    codes = [
        (o["code"]["coding"][0]["system"], o["code"]["coding"][0]["code"]) for o in observations
    ]
    assert ("http://loinc.org", "44261-6") in codes  # PHQ-9 total
    assert ("http://loinc.org", "70274-6") in codes  # GAD-7 total
    assert ("urn:bedrock:instrument", "wsas-total") in codes  # no verified LOINC: local code
    phq_total = next(o for o in observations if o["code"]["coding"][0]["code"] == "44261-6")
    assert phq_total["valueQuantity"]["value"] == 17
    responses = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    phq = next(r for r in responses if r["questionnaire"] == "urn:bedrock:instrument/phq9|1")
    item9 = next(i for i in phq["item"] if i["linkId"] == "9")
    assert item9["definition"] == "http://loinc.org/44260-8"
    assert item9["answer"][0]["valueCoding"]["code"] == "LA6569-3"  # several days
    patient = resources[kinds.index("Patient")]
    assert all(r["subject"]["reference"] == data["entry"][0]["fullUrl"] for r in responses)
    assert patient["name"][0]["text"] == "Jordan Avery"


# --- the record bundle --------------------------------------------------------------------------


def test_record_zip_holds_every_report_the_csv_files_and_fhir(app, record):
    therapist, client, _ = record
    data = browser(app, therapist).get(f"/therapist/clients/{client.id}/record.zip").data
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    assert {"README.txt", "progress-report.pdf", "questionnaires.csv", "homework.csv"} <= set(names)
    assert "fhir-bundle.json" in names
    summaries = [n for n in names if n.startswith("session-summaries/")]
    assert len(summaries) == 1
    assert "Checking less" in pdf_text(archive.read(summaries[0]))
    assert "Progress report" in pdf_text(archive.read("progress-report.pdf"))


def test_the_clients_own_copy_leaves_out_session_notes(app, record):
    _, client, _ = record
    c = browser(app, client)
    response = c.get("/me/my-record.zip")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    assert not [n for n in archive.namelist() if n.startswith("session-summaries/")]
    assert "My progress report" in pdf_text(archive.read("progress-report.pdf"))
    homework = list(csv.DictReader(io.StringIO(archive.read("homework.csv").decode("utf-8-sig"))))
    assert AUTOMATIC in homework[0]["answers_json"]
    assert "quality" not in homework[0] and "completion" not in homework[0]  # the therapist's
    questionnaires = list(
        csv.DictReader(io.StringIO(archive.read("questionnaires.csv").decode("utf-8-sig")))
    )
    assert "flags" not in questionnaires[0] and questionnaires[0]["total"] == "17"
    assert "Observation" in archive.read("fhir-bundle.json").decode()


def test_the_clients_copy_follows_the_practice_that_hides_scores(app, db, record):
    _, client, _ = record
    client.practice.clients_see_scores = False
    db.commit()
    archive = zipfile.ZipFile(io.BytesIO(browser(app, client).get("/me/my-record.zip").data))
    questionnaires = list(
        csv.DictReader(io.StringIO(archive.read("questionnaires.csv").decode("utf-8-sig")))
    )
    assert "total" not in questionnaires[0] and "band" not in questionnaires[0]
    assert questionnaires[0]["item_1"] == "2"  # their own answers stay
    bundle = json.loads(archive.read("fhir-bundle.json"))
    kinds = {e["resource"]["resourceType"] for e in bundle["entry"]}
    assert kinds == {"Patient", "Questionnaire", "QuestionnaireResponse"}


# --- the batch command --------------------------------------------------------------------------


def test_export_reports_writes_every_active_clients_report_and_csv(
    app, db, make_user, record, tmp_path
):
    therapist, client, _ = record
    other = make_user(Role.CLIENT, therapist=therapist, name="Other")
    gone = make_user(Role.CLIENT, therapist=therapist, name="Gone")
    gone.active = False
    db.commit()
    out = tmp_path / "month-end"
    result = app.test_cli_runner().invoke(
        args=["export-reports", "--therapist", therapist.email, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "Wrote 8 files for 2 client(s)" in result.output and "index.csv" in result.output
    names = sorted(p.name for p in out.iterdir())
    assert any(n.startswith(f"bedrock-client-{client.id}-progress-") for n in names)
    assert f"bedrock-client-{other.id}-questionnaires.csv" in names
    assert not any(n.startswith(f"bedrock-client-{gone.id}-") for n in names)
    exported = db.scalars(
        sa.select(AuditEvent.subject_id).where(
            AuditEvent.action == "export", AuditEvent.user_id == therapist.id
        )
    ).all()
    assert sorted(exported) == sorted([client.id, other.id])  # the command is audited too
    pdf_file = next(out.glob(f"bedrock-client-{client.id}-progress-*.pdf"))
    assert "Jordan Avery" in pdf_text(pdf_file.read_bytes())
    assert (pdf_file.stat().st_mode & 0o777) == 0o600
    assert (out.stat().st_mode & 0o777) == 0o700
    index = list(csv.DictReader(io.StringIO((out / "index.csv").read_text("utf-8-sig"))))
    assert {(r["client_id"], r["client"]) for r in index} == {
        (str(client.id), "Jordan Avery"),
        (str(other.id), "Other"),
    }
    assert pdf_file.name in {r["progress_report"] for r in index}
    assert ((out / "index.csv").stat().st_mode & 0o777) == 0o600
    unknown = app.test_cli_runner().invoke(
        args=["export-reports", "--therapist", "nobody@example.org", "--out", str(out)]
    )
    assert (
        unknown.exit_code != 0 and "No therapist signs in as nobody@example.org" in unknown.output
    )


def test_reportlab_fetches_nothing_even_if_markup_slipped_through(tmp_path):
    from reportlab import rl_config
    from reportlab.platypus import Paragraph, SimpleDocTemplate

    pdf.fonts()  # clinic.pdf configures ReportLab when it is imported
    assert not rl_config.trustedHosts and rl_config.trustedSchemes == []
    for src in ("https://example.org/tracker.png", "file:///etc/hostname"):
        doc = SimpleDocTemplate(str(tmp_path / "x.pdf"))
        with pytest.raises(Exception, match=r"(?i)cannot open resource|trusted|not allowed"):
            doc.build([Paragraph(f'<img src="{src}" width="10" height="10"/>')])


@pytest.mark.parametrize(
    "who, url",
    [
        ("therapist", "/therapist/clients/{client}/record.zip"),
        ("therapist", "/therapist/exports/questionnaires.csv"),
        ("therapist", "/therapist/exports/homework.csv"),
        ("client", "/me/my-record.zip"),
    ],
)
def test_bulk_exports_need_a_recent_sign_in(app, record, who, url):
    therapist, client, _ = record
    person = therapist if who == "therapist" else client
    web = browser(app, person)
    url = url.format(client=client.id)
    assert web.get(url).status_code == 200  # just signed in
    with web.session_transaction() as s:
        s["fresh_at"] -= 11 * 60
    stale = web.get(url)
    assert stale.status_code == 302
    assert stale.headers["Location"].startswith("/account/confirm?next=")
    confirm = web.post("/account/confirm", data={"password": PASSWORD, "next": url})
    assert confirm.headers["Location"] == url
    assert web.get(url).status_code == 200


def test_a_correction_after_the_session_is_not_quoted_in_that_sessions_summary(
    app, db, make_user, make_plan
):
    """A summary is "as of" its date: answers corrected later read as they were sent."""
    from clinic import answers as engine

    from .conftest import valid_answers

    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist)
    plan = make_plan(client, therapist, week=2)
    with app.app_context():
        plan.created_at -= dt.timedelta(days=8)  # set up when it started
        a = next(x for x in plan.assignments if x.worksheet_key == "trust_history")
        ws = plans.worksheet(db, a.worksheet_key)
        raw = valid_answers(ws)
        raw["events"][0]["conclusion"] = "He was late and I assumed the worst"
        sub = plans.submit(db, a, client, raw, 0)
        sent_then = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
        sub.submitted_at = sent_then
        sub.revisions[-1].saved_at = sent_then
        raw["events"][0]["conclusion"] = "A correction written after the session"
        plans.submit(db, a, client, raw, sub.version)
        db.commit()
        assert "A correction written" in " ".join(v for _, v in engine.key_answers(ws, sub.answers))
    day = dt.date.today() - dt.timedelta(days=2)
    t = browser(app, therapist)
    then = pdf_text(t.get(f"/therapist/clients/{client.id}/session-summary.pdf?date={day}").data)
    assert "He was late and I assumed the worst" in then, then
    assert "A correction written after the session" not in then
    today = dt.date.today()
    now = pdf_text(t.get(f"/therapist/clients/{client.id}/session-summary.pdf?date={today}").data)
    assert "A correction written after the session" in now
