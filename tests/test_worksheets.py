"""Every worksheet of the program, filled in through the real pages: valid answers are
accepted, and every bound gives a message next to the field while keeping what was typed."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import plans
from clinic.library import CONTENT_DIR, load_library
from clinic.models import Alert, Role, Submission

from .conftest import record_screen
from .worksheet_data import bad_values, field_name, valid_formdata, valid_value

LIBRARY = load_library(CONTENT_DIR)
KEYS = sorted(LIBRARY.worksheets)


@pytest.fixture
def homework(app, db, make_user, sign_in):  # type: ignore[no-untyped-def]
    """A client signed in, with a plan and one assignment of every worksheet in week 1."""
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, dt.date.today(), dt.date.today().weekday())
        ids = {key: plans.add_assignment(db, plan, key, 1).id for key in KEYS}
        db.commit()
    sign_in(client)
    return ids


def soup(response):  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.data, "html.parser")


def shown_value(page, name: str) -> str | None:  # type: ignore[no-untyped-def]
    node = page.find(attrs={"name": name})
    if node is None:
        return None
    if node.name == "textarea":
        return node.get_text().removeprefix("\r\n").removeprefix("\n")  # HTML drops it too
    if node.get("type") == "radio":
        checked = page.find("input", attrs={"name": name, "checked": True})
        return checked["value"] if checked else ""
    return node.get("value", "")


def error_for(page, field_id: str) -> str:  # type: ignore[no-untyped-def]
    node = page.find(id=f"{field_id}-error") or page.find(id=field_id, class_="error")
    return " ".join(node.get_text().split()) if node else ""


def version_of(page) -> str:  # type: ignore[no-untyped-def]
    return page.find("input", attrs={"name": "version"})["value"]


@pytest.mark.parametrize("key", KEYS)
def test_valid_answers_are_submitted_and_shown_back(client, db, homework, key):
    ws = LIBRARY.worksheets[key]
    url = f"/me/homework/{homework[key]}"
    page = soup(client.get(url))
    assert page.find("h1").get_text() == ws.title
    data = valid_formdata(ws) | {"action": "submit", "version": version_of(page)}
    response = client.post(url, data=data)
    assert response.status_code == 302, error_summary(soup(response))
    sub = db.scalars(sa.select(Submission).where(Submission.assignment_id == homework[key])).one()
    assert sub.status == "submitted" and sub.worksheet_version == ws.version
    confirmation = soup(client.get(response.headers["Location"]))
    assert "it's with your therapist now" in confirmation.get_text()
    # The stored answers are typed values, and the corrected form shows them again.
    for s in ws.sections:
        for f in s.fields:
            stored = sub.answers[s.key][0][f.key] if s.repeat else sub.answers[s.key][f.key]
            expected = valid_value(f)
            assert str(stored) == expected or (f.type == "text" and stored == expected.strip())
            assert shown_value(confirmation, field_name(s, f, 0 if s.repeat else None)) == expected


def locate(page, section, f, typed: str, name: str) -> str:  # type: ignore[no-untyped-def]
    """Where a typed value ended up: the trust ladder re-sorts its rows on every save."""
    if section.order_by != f.key:  # only the order field moves rows
        return name
    return next(
        field_name(section, f, i)
        for i in range(section.max_rows)
        if shown_value(page, field_name(section, f, i)) == typed
    )


def error_summary(page) -> str:  # type: ignore[no-untyped-def]
    node = page.find(id="error-summary") or page.find(class_="notice-error")
    return " ".join(node.get_text().split()) if node else "(no error summary)"


@pytest.mark.parametrize("key", KEYS)
def test_every_bound_gives_a_message_next_to_the_field_and_keeps_the_typing(
    client, db, homework, key
):
    ws = LIBRARY.worksheets[key]
    url = f"/me/homework/{homework[key]}"
    version = version_of(soup(client.get(url)))
    checked = 0
    for s in ws.sections:
        for f in s.fields:
            name = field_name(s, f, 0 if s.repeat else None)
            for typed, fragment in bad_values(f):
                data = valid_formdata(ws) | {name: typed, "action": "submit", "version": version}
                response = client.post(url, data=data)
                assert response.status_code == 422, f"{key}.{f.key}={typed!r} was accepted"
                page = soup(response)
                name = locate(page, s, f, typed, name)
                assert fragment in error_for(page, name), (
                    f"{key}.{f.key}: {error_for(page, name)!r}"
                )
                assert page.find(id=name).get("aria-invalid") == "true" or f.type == "choice"
                assert (
                    "There is a problem" in page.get_text()
                    or "things to look at" in page.get_text()
                )
                if f.type != "choice":
                    assert shown_value(page, name) == typed
                # every other answer is still there (the ladder may have re-sorted its rows)
                typed_all = {n: v for n, v in data.items() if n not in ("action", "version")}
                shown_all = {n: shown_value(page, n) for n in typed_all}
                if s.order_by:
                    assert (
                        sorted(map(str, shown_all.values())) == sorted(typed_all.values())
                        or f.type == "choice"
                    )
                else:
                    for n, v in typed_all.items():
                        if n != name:
                            assert shown_all[n] == v, n
                version = version_of(page)
                checked += 1
            name = field_name(s, f, 0 if s.repeat else None)
            if f.required:
                data = valid_formdata(ws) | {name: "", "action": "submit", "version": version}
                response = client.post(url, data=data)
                assert response.status_code == 422
                page = soup(response)
                name = locate(page, s, f, "", name)
                assert "Please answer this" in error_for(page, name), f"{key}.{f.key} required"
                # the summary at the top says where: "Moment 1: What I felt · Please answer..."
                link = page.select_one(f'#error-summary a[href="#{name}"]')
                assert link is not None and f.label in link.get_text(), f"{key}.{f.key} summary"
                if s.repeat:  # the row as numbered on the page (a ladder re-sorts its rows)
                    row = int(name.split("-")[1]) + 1
                    assert link.get_text().startswith(f"{s.row_label} {row}: {f.label} · ")
                version = version_of(page)
                checked += 1
    assert checked > 0
    sub = db.scalars(sa.select(Submission).where(Submission.assignment_id == homework[key])).one()
    assert sub.status == "draft"  # nothing invalid was ever submitted; the typing was kept


@pytest.mark.parametrize(
    "key", [k for k in KEYS if any(s.repeat for s in LIBRARY.worksheets[k].sections)]
)
def test_row_counts_are_enforced_with_a_message_by_the_section(client, homework, key):
    ws = LIBRARY.worksheets[key]
    section = next(s for s in ws.sections if s.repeat)
    url = f"/me/homework/{homework[key]}"
    version = version_of(soup(client.get(url)))
    too_few = {k: v for k, v in valid_formdata(ws, rows=section.min_rows - 1).items()}
    if section.min_rows == 1:  # one empty row: nothing filled in
        too_few |= {field_name(section, f, 0): "" for f in section.fields}
    response = client.post(url, data=too_few | {"action": "submit", "version": version})
    assert response.status_code == 422
    page = soup(response)
    assert f"at least {section.min_rows}" in error_for(page, section.key)
    assert section.title in page.select_one(f'#error-summary a[href="#{section.key}"]').get_text()
    version = version_of(page)
    too_many = valid_formdata(ws, rows=section.max_rows + 1)
    response = client.post(url, data=too_many | {"action": "submit", "version": version})
    assert response.status_code == 422
    page = soup(response)
    assert f"at most {section.max_rows} rows" in error_for(page, section.key)
    last = field_name(section, section.fields[0], section.max_rows)
    assert shown_value(page, last) == too_many[last]  # even the extra row is kept on screen


def test_a_red_flag_answer_raises_one_alert_and_the_client_is_told_what_happens(
    client, db, homework
):
    """The red-flags worksheet marks "Red flag" as an answer that raises an alert (alert_on
    in its TOML): threats or control seen today are a risk to follow up now. The alert names
    the rows, never the client's words; correcting the answers raises no second alert, and
    "Old fear" raises none."""
    ws = LIBRARY.worksheets["red_flags"]
    url = f"/me/homework/{homework['red_flags']}"
    data = valid_formdata(ws, rows=3) | {"action": "submit", "version": "0"}
    data |= {"worries-0-kind": "old_fear", "worries-1-kind": "red_flag"}
    data |= {"worries-2-kind": "red_flag", "worries-1-worry": "He threatened me last night"}
    response = client.post(url, data=data)
    assert response.status_code == 302, error_summary(soup(response))
    [alert] = db.scalars(sa.select(Alert)).all()
    assert alert.kind == "red_flag" and alert.submission_id is not None
    assert alert.detail == "Red flags or old fears: “Red flag” for Worry 2; “Red flag” for Worry 3"
    page = soup(client.get(response.headers["Location"])).get_text(" ", strip=True)
    assert "You marked something as a red flag" in page and "within 24 hours" in page
    corrected = data | {"worries-1-action": "Talk to my therapist today", "version": "2"}
    assert client.post(url, data=corrected).status_code == 302
    assert len(db.scalars(sa.select(Alert)).all()) == 1


def test_an_old_fear_raises_no_alert(client, db, homework):
    ws = LIBRARY.worksheets["red_flags"]
    data = valid_formdata(ws) | {"action": "submit", "version": "0", "worries-0-kind": "old_fear"}
    assert client.post(f"/me/homework/{homework['red_flags']}", data=data).status_code == 302
    assert db.scalars(sa.select(Alert)).all() == []
