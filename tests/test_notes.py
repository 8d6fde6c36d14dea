"""Session notes: started from the record, drafted, signed once, amended only by addenda."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import plans, questionnaires
from clinic.models import Addendum, Role, SessionNote, SessionNoteRevision

from .conftest import PASSWORD, record_screen
from .test_auth import page_text
from .worksheet_data import valid_formdata


def browser(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert c.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return c


@pytest.fixture
def session(app, db, make_user):  # type: ignore[no-untyped-def]
    """A client in week 5 with scores and homework, and their therapist signed in."""
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist, name="Jordan")
    first = dt.date.today() - dt.timedelta(days=7 * 4)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, first, first.weekday())
        questionnaires.complete(
            db,
            client,
            "phq9",
            {str(i): 2 if i < 9 else 0 for i in range(1, 10)},
            client,
            plan=plan,
            week=1,
            slot="baseline",
        )
        questionnaires.complete(
            db,
            client,
            "phq9",
            {str(i): 1 if i < 9 else 0 for i in range(1, 10)},
            client,
            plan=plan,
            week=3,
            slot="fortnightly",
        )
        questionnaires.record_check_in(
            db, client, plan, 4, client, trust=6, distress=3, helpfulness=3, note=None
        )
        ws = plans.worksheet(db, "thought_record")
        a = next(x for x in plan.assignments if x.worksheet_key == "thought_record")
        from clinic import answers as engine

        raw = {k: v for k, v in valid_formdata(ws).items()}
        form_raw = engine.normalise_raw(
            ws, {"entries": [{f.key: raw[f"entries-0-{f.key}"] for f in ws.sections[0].fields}]}
        )
        plans.submit(db, a, client, form_raw, 0)
        db.commit()
    return therapist, client, browser(app, therapist)


def note_data(page, **changes: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    soup = BeautifulSoup(page.data, "html.parser")
    form = soup.find("form", attrs={"method": "post", "novalidate": True})
    data: dict[str, str] = {}
    for node in form.find_all(["input", "textarea"]):
        name = node.get("name")
        if not name or (node.get("type") == "radio" and not node.has_attr("checked")):
            continue
        data[name] = (
            node.get_text().lstrip("\r\n") if node.name == "textarea" else node.get("value", "")
        )
    return data | changes


def test_a_new_note_quotes_the_weeks_scores_and_homework(app, db, session):
    therapist, client, t = session
    response = t.post(
        f"/therapist/clients/{client.id}/notes", data={"session_date": dt.date.today().isoformat()}
    )
    assert response.status_code == 302
    page = t.get(response.headers["Location"])
    text = BeautifulSoup(page.data, "html.parser")
    data = text.find(id="data").get_text()
    assert "PHQ-9 8 (mild); baseline 16, change -8; Jacobson–Truax: reliable improvement" in data
    assert "Weekly check-in, week 4: trust 6/10, distress 3/10" in data
    homework = text.find(id="homework_reviewed").get_text()
    assert "Week 4 · Thought record: Submitted · to review" in homework
    assert "Week 1 · Trust history timeline: Overdue" in homework


def test_draft_saved_then_signed_then_only_addenda(app, db, session):
    therapist, client, t = session
    url = t.post(f"/therapist/clients/{client.id}/notes").headers["Location"]
    data = note_data(
        t.get(url), assessment="Engaged; mistrust of partner easing.", plan="Ladder step 2."
    )
    assert t.post(url, data=data | {"action": "save"}).status_code == 302
    note = db.scalars(sa.select(SessionNote)).one()
    assert note.assessment == "Engaged; mistrust of partner easing." and note.status == "draft"
    signed = t.post(url, data=note_data(t.get(url)) | {"action": "sign"})
    assert signed.status_code == 302
    db.expire_all()
    note = db.get(SessionNote, note.id)
    assert note.status == "signed" and note.signed_at is not None
    frozen = (note.data, note.assessment, note.plan, note.version)
    # Editing or signing again is refused and changes nothing.
    again = t.post(url, data=data | {"assessment": "rewritten", "action": "sign"})
    assert again.status_code == 409 and "signed" in page_text(again)
    db.expire_all()
    note = db.get(SessionNote, note.id)
    assert (note.data, note.assessment, note.plan, note.version) == frozen
    page = page_text(t.get(url))
    assert "Signed by Dr Rivers" in page and "Engaged; mistrust of partner easing." in page
    t.post(f"{url}/addenda", data={"text": "Client phoned after the session: all fine."})
    assert [a.text for a in db.scalars(sa.select(Addendum))] == [
        "Client phoned after the session: all fine."
    ]
    assert "Client phoned after the session" in page_text(t.get(url))
    db.expire_all()
    assert (db.get(SessionNote, note.id).assessment) == frozen[1]


def test_note_fields_have_length_limits_with_messages_and_keep_the_text(app, db, session):
    therapist, client, t = session
    url = t.post(f"/therapist/clients/{client.id}/notes").headers["Location"]
    long = "x" * 10_001
    response = t.post(
        url, data=note_data(t.get(url), plan=long, assessment="kept") | {"action": "save"}
    )
    assert response.status_code == 422
    soup = BeautifulSoup(response.data, "html.parser")
    assert "at most 10,000 characters" in soup.find(id="plan-error").get_text()
    assert soup.find(id="assessment").get_text().strip() == "kept"
    bad_duration = t.post(
        url, data=note_data(t.get(url), duration_minutes="900") | {"action": "save"}
    )
    assert bad_duration.status_code == 422 and "0 to 600 minutes" in page_text(bad_duration)
    assert db.scalars(sa.select(SessionNote)).one().assessment is None


def test_two_tabs_editing_a_draft_note_do_not_overwrite_each_other(app, db, session):
    therapist, client, t = session
    url = t.post(f"/therapist/clients/{client.id}/notes").headers["Location"]
    opened = note_data(t.get(url))
    t.post(url, data=opened | {"assessment": "tab A", "action": "save"})
    response = t.post(url, data=opened | {"assessment": "tab B", "action": "save"})
    assert response.status_code == 409
    assert "saved somewhere else" in page_text(response)
    page = BeautifulSoup(response.data, "html.parser")
    saved = page.find("section", attrs={"aria-labelledby": "theirs-heading"})
    typed = page.find("section", attrs={"aria-labelledby": "mine-heading"})
    assert "Saved version" in saved.get_text() and "tab A" in saved.get_text()
    assert therapist.display_name in saved.get_text()
    assert "What you just typed" in typed.get_text() and "tab B" in typed.get_text()
    db.expire_all()
    assert db.scalars(sa.select(SessionNote)).one().assessment == "tab A"
    filed = db.scalars(sa.select(SessionNoteRevision)).one()
    assert filed.reason == "conflict" and filed.fields["assessment"] == "tab B"
    form = typed.find("form")
    kept = t.post(
        form["action"],
        data={"keep": "mine", "version": form.find("input", attrs={"name": "version"})["value"]},
    )
    assert kept.status_code == 302
    db.expire_all()
    assert db.scalars(sa.select(SessionNote)).one().assessment == "tab B"
    revisions = db.scalars(sa.select(SessionNoteRevision).order_by(SessionNoteRevision.id)).all()
    assert [(r.reason, r.fields["assessment"]) for r in revisions] == [
        ("conflict", "tab B"),
        ("replaced", "tab A"),
    ]


def test_keeping_the_saved_note_leaves_it_and_keeps_the_typed_text_on_file(app, db, session):
    therapist, client, t = session
    url = t.post(f"/therapist/clients/{client.id}/notes").headers["Location"]
    opened = note_data(t.get(url))
    t.post(url, data=opened | {"assessment": "tab A", "action": "save"})
    response = t.post(url, data=opened | {"assessment": "tab B", "action": "save"})
    saved = BeautifulSoup(response.data, "html.parser").find(
        "section", attrs={"aria-labelledby": "theirs-heading"}
    )
    assert t.post(saved.find("form")["action"], data={"keep": "theirs"}).status_code == 302
    db.expire_all()
    assert db.scalars(sa.select(SessionNote)).one().assessment == "tab A"
    assert db.scalars(sa.select(SessionNoteRevision)).one().fields["assessment"] == "tab B"


def test_another_therapist_cannot_read_or_sign_the_note(app, db, make_user, session):
    therapist, client, t = session
    url = t.post(f"/therapist/clients/{client.id}/notes").headers["Location"]
    other = browser(app, make_user(Role.THERAPIST))
    assert other.get(url).status_code == 404
    assert other.post(url, data={"action": "sign"}).status_code == 404
    assert other.post(f"/therapist/clients/{client.id}/notes").status_code == 404
    assert db.scalars(sa.select(SessionNote)).one().status == "draft"
    assert db.scalar(sa.select(sa.func.count()).select_from(SessionNote)) == 1


def test_event_notes_appear_as_markers_on_the_charts(app, db, session):
    therapist, client, t = session
    response = t.post(
        f"/therapist/clients/{client.id}/events",
        data={"on_date": dt.date.today().isoformat(), "text": "Moved in together"},
    )
    assert response.status_code == 302
    page = BeautifulSoup(t.get(f"/therapist/clients/{client.id}").data, "html.parser")
    marker = page.find(id="measure-phq9").find("line", class_="marker")
    assert marker is not None and marker.find("title").get_text() == "Moved in together"
    # the chart's own table names the event in full, beside every score
    figure = page.find(id="measure-phq9")
    assert "Moved in together" in figure.find("details").get_text()
    assert "Moved in together" in figure.find("desc").get_text()
    assert "Moved in together" in page.find(id="measures").get_text()
    empty = t.post(
        f"/therapist/clients/{client.id}/events",
        data={"on_date": "", "text": ""},
        follow_redirects=True,
    )
    assert "Describe the event." in page_text(empty)


def test_the_timeline_shows_each_weeks_questionnaires_notes_and_alerts(app, db, session):
    therapist, client, t = session
    t.post(
        f"/therapist/clients/{client.id}/notes", data={"session_date": dt.date.today().isoformat()}
    )
    page = BeautifulSoup(t.get(f"/therapist/clients/{client.id}").data, "html.parser")
    week1 = " ".join(page.find(id="week-1").get_text().split())
    assert "PHQ-9 16 (moderately severe)" in week1
    week5 = " ".join(page.find(id="week-5").get_text().split())
    assert "Session note" in week5 and "(draft)" in week5


def test_start_todays_note_reopens_the_draft_never_a_second(app, db, session):
    therapist, client, t = session
    first = t.post(f"/therapist/clients/{client.id}/notes")
    second = t.post(f"/therapist/clients/{client.id}/notes")
    assert first.headers["Location"] == second.headers["Location"]
    assert db.scalar(sa.select(sa.func.count()).select_from(SessionNote)) == 1
    assert "open again" in page_text(t.get(second.headers["Location"]))
    record = page_text(t.get(f"/therapist/clients/{client.id}"))
    assert "Open today's draft note" in record
    # once signed, the next click starts a new draft (a second session the same day)
    url = first.headers["Location"]
    t.post(url, data=note_data(t.get(url)) | {"action": "sign"})
    third = t.post(f"/therapist/clients/{client.id}/notes")
    assert third.headers["Location"] != url


def test_the_database_refuses_a_second_draft_for_the_same_session(app, db, session):
    therapist, client, t = session
    day = dt.date.today()
    db.add(SessionNote(client_id=client.id, therapist_id=therapist.id, session_date=day))
    db.flush()
    db.add(SessionNote(client_id=client.id, therapist_id=therapist.id, session_date=day))
    with pytest.raises(sa.exc.IntegrityError):
        db.flush()
    db.rollback()


def test_moving_a_draft_onto_another_drafts_date_is_refused_next_to_the_field(app, db, session):
    therapist, client, t = session
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    t.post(f"/therapist/clients/{client.id}/notes", data={"session_date": yesterday})
    url = t.post(f"/therapist/clients/{client.id}/notes").headers["Location"]
    data = note_data(t.get(url), session_date=yesterday, assessment="Typed just now")
    response = t.post(url, data=data | {"action": "save"})
    assert response.status_code == 422
    soup = BeautifulSoup(response.data, "html.parser")
    assert "already have a draft" in soup.find(id="session_date-error").get_text()
    assert soup.find(id="assessment").get_text().strip() == "Typed just now"


def test_beside_the_draft_the_weeks_material_as_of_the_session_date(app, db, session):
    therapist, client, t = session
    today = dt.date.today()
    url = t.post(f"/therapist/clients/{client.id}/notes").headers["Location"]
    soup = BeautifulSoup(t.get(url).data, "html.parser")
    panel = soup.find("aside", class_="note-sources")
    text = " ".join(panel.get_text(" ").split())
    assert "PHQ-9 8 (mild)" in text
    assert "trust 6/10" in text
    assert "Thought record" in text
    insert = [b for b in panel.find_all("button") if b.has_attr("data-insert")]
    quoted = "\n".join(b["data-insert"] for b in insert)
    assert "Jacobson–Truax" in quoted  # a score is quoted with its convention
    homework = next(b for b in insert if "Thought record" in b["data-insert"])
    assert homework["data-target"] == "homework_reviewed"
    # next week's homework from the plan goes to "Homework set"
    assert any(b["data-target"] == "homework_set" for b in insert)
    # a note dated before the scores: nothing after its date shows
    early = (today - dt.timedelta(days=7 * 4)).isoformat()
    url = t.post(f"/therapist/clients/{client.id}/notes", data={"session_date": early})
    panel = BeautifulSoup(t.get(url.headers["Location"]).data, "html.parser").find(
        "aside", class_="note-sources"
    )
    text = " ".join(panel.get_text(" ").split())
    assert "PHQ-9 8" not in text and "trust 6/10" not in text
