"""Hostile input renders inert and is never run: stored script in free text, SQL-looking
sort and filter values, open-redirect targets."""

from __future__ import annotations

import datetime as dt

import pytest
from bs4 import BeautifulSoup

from clinic import plans
from clinic.models import Role

from .conftest import PASSWORD, record_screen

PAYLOAD = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def browser(app, user):  # type: ignore[no-untyped-def]
    c = app.test_client()
    assert c.post("/sign-in", data={"email": user.email, "password": PASSWORD}).status_code == 302
    return c


def assert_inert(html: str) -> None:
    soup = BeautifulSoup(html, "html.parser")
    assert not [s for s in soup.find_all("script") if not s.get("src")], "inline script rendered"
    assert not soup.find("img", attrs={"onerror": True}), "event handler rendered"
    assert "&lt;script&gt;" in html  # shown as text instead


def test_stored_script_in_free_text_renders_inert_everywhere(app, db, make_user):
    therapist = make_user(Role.THERAPIST, name=PAYLOAD)
    client = make_user(Role.CLIENT, therapist=therapist, name=PAYLOAD)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, dt.date.today(), dt.date.today().weekday())
        db.commit()
        a = next(x for x in plan.assignments if x.worksheet_key == "self_compassion_letter")
    c, t = browser(app, client), browser(app, therapist)
    ws_url = f"/me/homework/{a.id}"
    page = BeautifulSoup(c.get(ws_url).data, "html.parser")
    field = page.find("textarea")["name"]
    assert (
        c.post(ws_url, data={field: PAYLOAD, "action": "submit", "version": "0"}).status_code == 302
    )
    t.post(
        f"/therapist/clients/{client.id}/homework/{a.id}",
        data={"completion": "all", "quality": "3", "feedback": PAYLOAD},
    )
    t.post(
        f"/therapist/clients/{client.id}/events",
        data={"on_date": dt.date.today().isoformat(), "text": PAYLOAD},
    )
    c.post("/me/check-in/1", data={"trust": "5", "distress": "3", "note": PAYLOAD})
    for url in (
        "/therapist/",
        f"/therapist/clients/{client.id}",
        f"/therapist/clients/{client.id}/homework/{a.id}",
    ):
        assert_inert(t.get(url).get_data(as_text=True))
    for url in ("/me/", ws_url, "/me/history"):
        assert_inert(c.get(url).get_data(as_text=True))


@pytest.mark.parametrize(
    "value", ["name; DROP TABLE user_account", "' OR 1=1 --", "phq9 DESC", "x" * 500]
)
def test_sql_looking_sort_and_filter_values_are_refused(app, make_user, value):
    therapist = make_user(Role.THERAPIST)
    make_user(Role.CLIENT, therapist=therapist, name="Still Here")
    t = browser(app, therapist)
    response = t.get("/therapist/", query_string={"sort": value, "filter": value})
    assert response.status_code == 200
    assert "Still Here" in response.get_data(as_text=True)
    assert "sorted by alerts first" in response.get_data(as_text=True)  # fell back to the default


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example", "/\\evil.example", "javascript:alert(1)"]
)
def test_open_redirect_payloads_go_home(client, make_user, target):
    user = make_user(Role.CLIENT)
    response = client.post(
        "/sign-in", data={"email": user.email, "password": PASSWORD, "next": target}
    )
    assert response.headers["Location"] == "/me/"
