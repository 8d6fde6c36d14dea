"""What the record page and the PDFs cost the database: the same number of statements for a
client two weeks into the plan as for one who finished all twelve (one query per kind of
data, never one per week, worksheet or score)."""

from __future__ import annotations

import datetime as dt

import pytest

from clinic import notes, plans, questionnaires
from clinic.models import Role

from .conftest import PASSWORD, count_statements, record_screen
from .worksheet_data import valid_formdata


def _raw(ws):  # type: ignore[no-untyped-def]
    form = valid_formdata(ws)
    raw = {}
    for s in ws.sections:
        if s.repeat:
            raw[s.key] = [
                {f.key: form[f"{s.key}-{i}-{f.key}"] for f in s.fields} for i in range(s.min_rows)
            ]
        else:
            raw[s.key] = {f.key: form[f"{s.key}-{f.key}"] for f in s.fields}
    return raw


def client_at_week(app, db, make_user, therapist, weeks: int) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    """A client `weeks` weeks into the plan, with everything of those weeks done: every
    worksheet sent and reviewed, a PHQ-9, GAD-7 and check-in each week, a signed note per
    session. Returns the client's id and the latest note's."""
    client = make_user(Role.CLIENT, therapist=therapist, name=f"Week {weeks}")
    first = dt.date.today() - dt.timedelta(days=7 * (weeks - 1) + 1)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, first, first.weekday())
        for a in plan.assignments:
            if a.week > weeks:
                continue
            sub = plans.submit(db, a, client, _raw(plans.worksheet(db, a.worksheet_key)), 0)
            plans.review(db, sub, therapist, completion="most", quality=3, feedback="Well done.")
        note = None
        for week in range(1, weeks + 1):
            for code, items in (("phq9", 9), ("gad7", 7)):
                questionnaires.complete(
                    db,
                    client,
                    code,
                    {str(i): (week + i) % 3 if i < 9 else 0 for i in range(1, items + 1)},
                    client,
                    plan=plan,
                    week=week,
                )
            questionnaires.record_check_in(
                db,
                client,
                plan,
                week,
                client,
                trust=3 + week % 5,
                distress=4,
                helpfulness=2,
                note=None,
            )
            note = notes.start_note(db, client, therapist, plans.session_date(plan, week))
            note.assessment = f"Week {week}: engaged."
            notes.sign(db, note, therapist)
        db.commit()
        assert note is not None
        return client.id, note.id


def statements_for(app, web, url: str) -> int:  # type: ignore[no-untyped-def]
    """How many SQL statements one GET of a page or a PDF runs (it must answer 200)."""
    count, body = count_statements(app, web, url)
    assert body.startswith("%PDF") or "<html" in body
    return count


@pytest.mark.parametrize(
    "page",
    [
        "/therapist/clients/{client}",
        "/therapist/clients/{client}/progress-report.pdf",
        "/therapist/clients/{client}/notes/{note}/summary.pdf",
    ],
)
def test_a_whole_plan_costs_the_same_statements_as_two_weeks(app, db, make_user, page):
    therapist = make_user(Role.THERAPIST)
    web = app.test_client()
    web.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    counts = []
    for weeks in (2, 12):
        client_id, note_id = client_at_week(app, db, make_user, therapist, weeks)
        counts.append(statements_for(app, web, page.format(client=client_id, note=note_id)))
    assert counts[0] == counts[1], counts
