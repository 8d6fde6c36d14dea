"""Worksheets on paper: a PDF of any worksheet, blank with room to write by hand, or filled
with the answers; from the therapist's record and from the client's homework page."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from pypdf import PdfReader

import clinic
from clinic import plans
from clinic.library import library
from clinic.models import Role

from .test_notes import session

__all__ = ["session"]


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def _thought_record(db, client):  # type: ignore[no-untyped-def]
    plan = plans.open_plan(db, client)
    return next(a for a in plan.assignments if a.worksheet_key == "thought_record")


def test_the_therapist_prints_the_answers_the_client_sent_and_a_blank_copy(app, db, session):
    therapist, client, t = session
    with app.app_context():
        a = _thought_record(db, client)
        answer = a.submission.answers["entries"][0]["automatic_thought"]
    record = BeautifulSoup(t.get(f"/therapist/clients/{client.id}").data, "html.parser")
    link = record.find("a", href=f"/therapist/clients/{client.id}/homework/{a.id}/worksheet.pdf")
    assert link is not None
    response = t.get(link["href"])
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert "Thought record" in text and "Jordan" in text and "Week 4" in text
    assert " ".join(answer.split())[:40] in text
    blank = pdf_text(t.get(f"{link['href']}?blank=1").data)
    assert "Jordan" in blank and " ".join(answer.split())[:40] not in blank
    # room to write: the field's help is there, and the date has day/month/year boxes
    assert "Stick to the facts" in blank and "day" in blank and "year" in blank
    assert "Thought 1" in blank and "Thought 2" in blank


KEYS = sorted(p.stem for p in (Path(clinic.__file__).parent / "content/worksheets").glob("*.toml"))


@pytest.mark.parametrize("key", KEYS)
def test_every_worksheet_prints_blank_with_every_prompt(app, db, make_user, signed_in, key):
    therapist = make_user(Role.THERAPIST)
    t = signed_in(therapist)
    response = t.get(f"/therapist/worksheets/{key}.pdf")
    assert response.status_code == 200
    text = pdf_text(response.data)
    with app.app_context():
        ws = library().worksheets[key]
    squashed = text.replace(" ", "")
    for section in ws.sections:
        for f in section.fields:
            assert f.label.replace(" ", "") in squashed, f.label
            for _, label in f.choices:
                assert label.replace(" ", "") in squashed, label


def test_the_client_prints_their_own_draft_and_a_blank_copy(app, db, session, signed_in):
    therapist, client, t = session
    with app.app_context():
        plan = plans.open_plan(db, client)
        a = next(x for x in plan.assignments if x.worksheet_key == "trust_history")
        ws = plans.worksheet(db, a.worksheet_key)
        section = ws.sections[0]
        field = next(f for f in section.fields if f.type == "textarea")
        row = {field.key: "Grandmother kept every promise — 约定"}
        raw = {section.key: [row] if section.repeat else row}
        plans.save_draft(db, a, client, raw, 0)
        db.commit()
    c = signed_in(client)
    page = BeautifulSoup(c.get(f"/me/homework/{a.id}").data, "html.parser")
    hrefs = [x["href"] for x in page.select(".print-links a")]
    assert f"/me/homework/{a.id}/worksheet.pdf?blank=1" in hrefs
    assert f"/me/homework/{a.id}/worksheet.pdf" in hrefs
    mine = pdf_text(c.get(f"/me/homework/{a.id}/worksheet.pdf").data)
    assert "Grandmother kept every promise — 约定" in mine and "Draft, not sent yet" in mine
    blank = pdf_text(c.get(f"/me/homework/{a.id}/worksheet.pdf?blank=1").data)
    assert ws.title in blank and "Grandmother" not in blank
    # the therapist cannot print the client's draft: it is not sent yet
    assert "Grandmother" not in pdf_text(
        t.get(f"/therapist/clients/{client.id}/homework/{a.id}/worksheet.pdf").data
    )
