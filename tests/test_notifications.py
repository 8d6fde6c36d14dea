"""Reminders and notifications, sent to a real SMTP server (aiosmtpd) on 127.0.0.1: who gets
what and when (time zones, quiet hours, expiry), that no email carries clinical content or a
client's name, that the links work, unsubscribing, retries, and two senders at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from clinic import db as database
from clinic import mail, notifications, plans
from clinic.models import (
    Alert,
    AuditEvent,
    CheckIn,
    Notification,
    Plan,
    Role,
    Submission,
    User,
)

from .conftest import PASSWORD, record_screen, self_signed_certificate
from .test_fuzz import FUZZ, VALUES

BASE_URL = "http://127.0.0.1:5181"
REMINDERS = sa.select(Notification).where(Notification.kind == "reminder")
UTC = dt.UTC
# A Tuesday in March: London is on UTC (summer time starts on 29 March 2026).
DUE = dt.date(2026, 3, 4)


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=UTC)


# --- a real SMTP server ------------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps what it receives (or refuses it, when told to)."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], EmailMessage]] = []
        self.raw: list[bytes] = []
        self.reply = "250 OK"
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if not self.reply.startswith("250"):
            return self.reply
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
            self.raw.append(envelope.original_content)
        return self.reply

    def take(self) -> list[tuple[list[str], EmailMessage]]:
        with self.lock:
            got, self.messages = self.messages, []
        return got


def _ports() -> range:
    """SMTP test servers use ports 8025-8035 on this machine; with the suite in several
    processes (pytest-xdist), each process has its own share, so that a port one process
    probed free is not taken by another before its server binds it."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    if not worker.startswith("gw") or count < 2:
        return range(8025, 8036)
    share = 11 // count
    start = 8025 + int(worker[2:]) * share
    return range(start, start + share)


def _free_port() -> int:
    for port in _ports():
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free SMTP test port in {_ports()}")


@pytest.fixture
def inbox(app: Flask) -> Iterator[Inbox]:
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=controller.port,
        SMTP_SECURITY="none",
        SMTP_SENDER="Bedrock <bedrock@practice.example>",
        BASE_URL=BASE_URL,
    )
    yield handler
    controller.stop()
    asyncio.set_event_loop(None)


def run(app: Flask, now: dt.datetime) -> notifications.Outcome:
    with app.app_context():
        return notifications.run(database.session(), now)


def body(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return part.get_content()  # type: ignore[no-any-return]


def links(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://\S+", body(message))


def path_of(url: str) -> str:
    assert url.startswith(BASE_URL + "/"), url
    return urlsplit(url).path


def assert_nothing_private(message: EmailMessage, *texts: str, category: bool = False) -> None:
    """No client name, no worksheet or questionnaire name, no answers or alert details (in
    the subject or the text; the To header is the recipient's own address). An alert email
    to staff (`category`) may name the kind of alert ("a self-harm answer"), nothing more."""
    # Links carry random tokens, which may spell anything ("gad", "score"): leave them out.
    whole = re.sub(r"https?://\S+", "", f"{message['Subject']}\n{body(message)}")
    for text in texts:
        assert text.lower() not in whole.lower(), f"{text!r} is in the email"
    words = ["PHQ", "GAD", "thought record", "suicid"]
    words += [] if category else ["distress", "self-harm", "score"]
    for word in words:
        assert word.lower() not in whole.lower(), f"{word!r} is in the email"


# --- arranging data ----------------------------------------------------------------------------


@pytest.fixture
def people(app, db, make_user):  # type: ignore[no-untyped-def]
    """A therapist and a client whose plan starts later, with one piece of homework left,
    due on DUE (so that only the homework, not a questionnaire, is due)."""
    therapist = make_user(Role.THERAPIST, name="Dr Ada Therapist")
    client = make_user(Role.CLIENT, therapist=therapist, name="Jordan Mayfield-Client")
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, DUE + dt.timedelta(days=30), 0)
        first, *rest = plan.assignments
        first.due_on = DUE
        first.instruction = "Write about the argument with my sister"
        for a in rest:
            a.removed_at = at(1, 9)
        db.commit()
    return therapist, client, first


def received(inbox: Inbox, kind: str = "") -> list[tuple[list[str], EmailMessage]]:
    """What arrived since last asked; with `kind`, only messages whose subject has that word
    (the therapist's daily summary also goes out once homework is overdue)."""
    return [(to, m) for to, m in inbox.take() if kind.lower() in m["Subject"].lower()]


# --- reminders ---------------------------------------------------------------------------------


def test_reminders_follow_the_practice_schedule_and_go_once(app, db, inbox, people):
    therapist, client, homework = people
    # -1, 0 and +2 days from the due date (the default schedule)
    assert run(app, at(2, 12)).sent == 0
    assert run(app, at(3, 12)).sent == 1
    [(to, message)] = received(inbox)
    assert to == [client.email]
    assert message["To"] == client.email
    assert message["From"] == "Bedrock <bedrock@practice.example>"
    assert message["Subject"] == "A reminder from Bedrock"
    assert "Homework due tomorrow" in body(message)
    assert_nothing_private(message, client.display_name, "Jordan", "Mayfield", "sister")
    assert_nothing_private(message, therapist.display_name)
    # the same day again, and again later that day: nothing more
    assert run(app, at(3, 12, 5)).sent == 0
    assert run(app, at(3, 18)).sent == 0
    assert received(inbox) == []
    run(app, at(4, 9))
    [(_, message)] = received(inbox)
    assert "Homework due today" in body(message)
    run(app, at(5, 12))
    assert received(inbox, "reminder") == []
    run(app, at(6, 12))
    [(_, message)] = received(inbox, "reminder")
    assert "Homework that was due on Wednesday 4 March" in body(message)
    for day in range(7, 20):
        run(app, at(day, 12))
    assert received(inbox, "reminder") == []


def test_the_links_in_a_reminder_work(app, db, inbox, people, client, sign_in):
    _, person, _ = people
    run(app, at(3, 12))
    [(_, message)] = received(inbox)
    home, off = links(message)
    assert message["List-Unsubscribe"] == f"<{off}>"
    # as written on the wire: a plain <URL> (RFC 2369), and the link whole on one line
    assert f"List-Unsubscribe: <{off}>\r\n".encode() in inbox.raw[-1]
    assert f"\r\n{off}\r\n".encode() in inbox.raw[-1]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sign_in(person)
    page = client.get(path_of(home))
    assert page.status_code == 200
    assert "This week" in page.get_data(as_text=True)


def test_reminders_stop_once_the_homework_is_sent(app, db, inbox, people):
    _, client, homework = people
    run(app, at(3, 12))
    assert len(received(inbox)) == 1
    db.add(
        Submission(
            assignment_id=homework.id,
            client_id=client.id,
            status="submitted",
            answers={},
            worksheet_version=1,
            submitted_at=at(3, 20),
        )
    )
    db.commit()
    for day in range(4, 10):
        run(app, at(day, 12))
    assert received(inbox, "reminder") == []


def test_a_reminder_planned_in_quiet_hours_is_dropped_if_the_work_is_done_by_morning(
    app, db, inbox, people
):
    _, client, homework = people
    run(app, at(3, 6))  # 06:00 in London: quiet until 08:00
    assert received(inbox) == []
    [row] = db.scalars(REMINDERS).all()
    assert row.status == "pending" and row.next_attempt_at == at(3, 8)
    db.add(
        Submission(
            assignment_id=homework.id,
            client_id=client.id,
            status="submitted",
            answers={},
            worksheet_version=1,
            submitted_at=at(3, 7),
        )
    )
    db.commit()
    run(app, at(3, 8, 5))
    assert received(inbox, "reminder") == []
    assert db.scalars(
        sa.select(Notification.status).where(Notification.kind == "reminder")
    ).all() == ["cancelled"]


def test_reminders_stop_when_the_window_expires(app, db, inbox, people):
    therapist, client, _ = people
    practice = db.get(User, client.id).practice
    practice.reminder_days = "-1,0,2,5"
    practice.reminder_window_days = 3
    db.commit()
    for day in range(3, 12):
        run(app, at(day, 12))
    bodies = [body(m) for _, m in received(inbox, "reminder")]
    assert len(bodies) == 3  # -1, 0, +2; +5 is past the 3-day window


def test_an_unsent_reminder_expires_at_the_end_of_its_day(app, db, inbox, people):
    inbox.reply = "451 4.3.0 Try again later"
    run(app, at(3, 22))  # 22:00 is in quiet hours: planned for 08:00 the next day...
    [row] = db.scalars(REMINDERS).all()
    assert row.expires_at == at(4, 0)
    inbox.reply = "250 OK"
    outcome = run(app, at(4, 9))  # ...but a reminder meant for the 3rd is not sent on the 4th
    assert outcome.expired == 1
    [(_, message)] = received(inbox)  # the 4th's own reminder ("due today") still goes
    assert "due today" in body(message)


def test_quiet_hours_follow_the_clients_time_zone(app, db, inbox, people):
    _, client, _ = people
    db.get(User, client.id).time_zone = "America/New_York"  # UTC-5 in early March
    db.commit()
    run(app, at(3, 11))  # 06:00 in New York
    run(app, at(3, 12, 30))  # 07:30
    assert received(inbox) == []
    run(app, at(3, 13, 5))  # 08:05
    [(_, message)] = received(inbox)
    assert "due tomorrow" in body(message)


def test_the_reminder_day_is_the_clients_local_day(app, db, inbox, people):
    _, client, _ = people
    db.get(User, client.id).time_zone = "Pacific/Auckland"  # UTC+13 in March
    db.commit()
    # 12:00 UTC on the 3rd is 01:00 on the 4th in Auckland: the due day, in quiet hours
    run(app, at(3, 12))
    assert received(inbox) == []
    [row] = db.scalars(REMINDERS).all()
    assert row.key == f"reminder:{client.id}:2026-03-04"
    run(app, at(3, 19, 1))  # 08:01 in Auckland
    [(_, message)] = received(inbox, "reminder")
    assert "Homework due today" in body(message)


def test_questionnaires_and_the_check_in_are_reminded_too(app, db, inbox, make_user):
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist, name="Casey Q")
    with app.app_context():
        # first session Monday 2 March: week 1's baseline questionnaires are due on Sunday 8th
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plans.start_plan(db, client, therapist, dt.date(2026, 3, 2), 0)
        db.commit()
    run(app, at(7, 12))
    [(_, message)] = received(inbox)
    text = body(message)
    assert "4 questionnaires due tomorrow" in text  # the baseline battery, in one line
    assert "Homework due tomorrow" in text
    assert message["Subject"] == "Reminders from Bedrock"
    assert_nothing_private(message, "Casey")


def test_a_battery_measure_left_out_of_the_plan_is_not_reminded(app, db, inbox, make_user):
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist, name="Casey Q")
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, dt.date(2026, 3, 2), 0)
        plans.fit_measures(db, plan, left_out=["csi4"], problem=None)  # no current partner
        db.commit()
    run(app, at(7, 12))
    [(_, message)] = received(inbox)
    assert "3 questionnaires due tomorrow" in body(message)  # PHQ-9, GAD-7 and WSAS


def test_unsubscribing_from_the_email_asks_first_then_works_without_signing_in(
    app, db, inbox, people, client
):
    _, person, _ = people
    run(app, at(3, 12))
    [(_, message)] = received(inbox)
    off = path_of(links(message)[-1])
    page = client.get(off)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Turn off email reminders?" in page.get_data(as_text=True)
    db.expire_all()
    assert db.get(User, person.id).reminders_wanted is True
    done = client.post(off)
    assert "Email reminders are off" in done.get_data(as_text=True)
    db.expire_all()
    assert db.get(User, person.id).reminders_wanted is False
    for day in range(4, 10):
        run(app, at(day, 12))
    assert received(inbox, "reminder") == []
    assert client.get(off[:-3] + "abc").status_code == 404


def test_one_click_unsubscribe_needs_no_form_token(app, db, inbox, people):
    """RFC 8058: the mail program posts List-Unsubscribe=One-Click, with no CSRF token."""
    _, person, _ = people
    run(app, at(3, 12))
    [(_, message)] = received(inbox)
    app.config["WTF_CSRF_ENABLED"] = True
    off = message["List-Unsubscribe"].strip("<>")
    response = app.test_client().post(path_of(off), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    db.expire_all()
    assert db.get(User, person.id).reminders_wanted is False


def test_the_client_turns_reminders_off_and_on_in_settings(app, db, inbox, people, client, sign_in):
    _, person, _ = people
    sign_in(person)
    page = client.get("/me/settings")
    assert page.status_code == 200 and "Email me reminders" in page.get_data(as_text=True)
    client.post("/me/settings", data={"time_zone": "Europe/Berlin"})  # box unticked
    db.expire_all()
    saved = db.get(User, person.id)
    assert (saved.reminders_wanted, saved.time_zone) == (False, "Europe/Berlin")
    run(app, at(3, 12))
    assert received(inbox) == []
    bad = client.post("/me/settings", data={"reminders": "y", "time_zone": "Mars/Olympus"})
    assert bad.status_code == 422
    assert "Not a valid choice" in bad.get_data(as_text=True)
    db.expire_all()
    assert db.get(User, person.id).reminders_wanted is False
    client.post("/me/settings", data={"reminders": "y", "time_zone": ""})
    run(app, at(4, 12))
    assert len(received(inbox)) == 1


def test_the_therapist_pauses_reminders_for_one_client(app, db, inbox, people, client, sign_in):
    therapist, person, _ = people
    sign_in(therapist)
    record = client.get(f"/therapist/clients/{person.id}").get_data(as_text=True)
    assert "Pause reminders" in record
    client.post(f"/therapist/clients/{person.id}/reminders/off")
    run(app, at(3, 12))
    assert received(inbox) == []
    record = client.get(f"/therapist/clients/{person.id}").get_data(as_text=True)
    assert "Paused by you" in record
    client.post(f"/therapist/clients/{person.id}/reminders/on")
    run(app, at(4, 12))
    assert len(received(inbox)) == 1


# --- alerts, digests, invitations ----------------------------------------------------------


def _check_in(app: Flask, client_http: Any, sign_in: Any, person: User, distress: int) -> None:
    sign_in(person)
    response = client_http.post(
        "/me/check-in/1", data={"trust": "5", "distress": str(distress), "note": "I feel awful"}
    )
    assert response.status_code == 302, response.status_code


def test_an_alert_emails_the_treating_therapist_without_saying_who_or_why(
    app, db, inbox, make_user, client, sign_in
):
    therapist = make_user(Role.THERAPIST, name="Dr Ada Therapist")
    person = make_user(Role.CLIENT, therapist=therapist, name="Robin Alert-Client")
    with app.app_context():
        record_screen(db, person, therapist, on=dt.date(2000, 1, 1))
        plans.start_plan(db, person, therapist, dt.date.today() - dt.timedelta(days=1), 0)
        db.commit()
    _check_in(app, client, sign_in, person, distress=9)
    run(app, dt.datetime.now(UTC))
    messages = [m for to, m in received(inbox) if to == [therapist.email]]
    [message] = [m for m in messages if "sign in to see who" in m["Subject"]]
    assert message["Subject"] == "A high distress rating needs your attention; sign in to see who"
    assert_nothing_private(message, "Robin", "Alert-Client", "awful", "9 of 10", category=True)
    [link] = links(message)
    alert = db.scalars(sa.select(Alert)).one()
    assert path_of(link) == f"/therapist/clients/{person.id}/alerts/{alert.id}"
    client.post("/sign-out")
    sign_in(therapist)
    assert client.get(path_of(link)).status_code == 200


def test_an_alert_acknowledged_before_the_email_goes_is_not_sent(
    app, db, inbox, make_user, client, sign_in
):
    therapist = make_user(Role.THERAPIST)
    person = make_user(Role.CLIENT, therapist=therapist)
    with app.app_context():
        record_screen(db, person, therapist, on=dt.date(2000, 1, 1))
        plans.start_plan(db, person, therapist, dt.date.today() - dt.timedelta(days=1), 0)
        db.commit()
    _check_in(app, client, sign_in, person, distress=10)
    alert = db.scalars(sa.select(Alert)).one()
    alert.acknowledged_at = dt.datetime.now(UTC)
    alert.note = "Phoned"
    db.commit()
    run(app, dt.datetime.now(UTC))
    assert not [m for _, m in received(inbox) if "sign in to see who" in m["Subject"]]
    row = db.scalars(sa.select(Notification).where(Notification.kind == "alert")).one()
    assert row.status == "cancelled"


def test_alert_emails_are_planned_from_new_alerts_once_and_not_from_old_ones(
    app, db, inbox, make_user
):
    """Raising an alert sends nothing by itself: the next run finds the alerts raised in the
    last two days (also those raised while email was off) and emails each one once; an older
    alert is left to the daily summary."""
    therapist = make_user(Role.THERAPIST)
    person = make_user(Role.CLIENT, therapist=therapist)
    with app.app_context():
        record_screen(db, person, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, person, therapist, dt.date.today() - dt.timedelta(days=8), 0)
    sources = [
        CheckIn(client_id=person.id, plan_id=plan.id, week=w, trust=3, distress=9) for w in (1, 2)
    ]
    db.add_all(sources)
    db.flush()
    now = dt.datetime.now(UTC)
    fresh, old = (
        Alert(client_id=person.id, kind="distress", detail="distress 9", check_in_id=c.id)
        for c in sources
    )
    fresh.opened_at, old.opened_at = now, now - dt.timedelta(days=3)
    db.add_all([fresh, old])
    db.commit()
    assert db.scalars(sa.select(Notification)).all() == []
    run(app, now + dt.timedelta(minutes=1))
    run(app, now + dt.timedelta(minutes=6))
    sent = [m for to, m in received(inbox) if "sign in to see who" in m["Subject"]]
    assert len(sent) == 1
    assert path_of(links(sent[0])[0]).endswith(f"/alerts/{fresh.id}")
    rows = db.scalars(sa.select(Notification).where(Notification.kind == "alert")).all()
    assert [(r.object_id, r.status) for r in rows] == [(fresh.id, "sent")]


def test_the_daily_digest_counts_without_naming(app, db, inbox, people):
    therapist, client, homework = people
    practice = db.get(User, client.id).practice
    practice.reminder_days = ""  # only the digest in this test
    plan = db.scalars(sa.select(Plan)).one()
    db.add(CheckIn(client_id=client.id, plan_id=plan.id, week=1, trust=3, distress=9))
    db.flush()
    check_in = db.scalars(sa.select(CheckIn)).one()
    db.add(
        Alert(client_id=client.id, kind="distress", detail="distress 9", check_in_id=check_in.id)
    )
    db.commit()
    run(app, at(5, 6))  # before 07:00: no digest yet
    assert received(inbox) == []
    run(app, at(5, 7, 1))
    [(to, message)] = received(inbox)
    assert to == [therapist.email]
    assert message["Subject"] == "Your Bedrock summary for Thursday 5 March"
    text = body(message)
    assert "1 open alert to look at" in text
    assert "1 piece of homework past the due date" in text
    assert_nothing_private(message, "Jordan", "Mayfield", "sister")
    assert path_of(links(message)[0]) == "/therapist/"
    run(app, at(5, 15))
    assert received(inbox) == []


def test_no_digest_when_there_is_nothing_to_report(app, db, inbox, make_user):
    make_user(Role.THERAPIST)
    outcome = run(app, at(5, 9))
    assert (outcome.sent, outcome.cancelled) == (0, 1)
    assert received(inbox) == []


def test_the_therapist_emails_an_invitation(app, db, inbox, make_user, client, sign_in):
    therapist = make_user(Role.THERAPIST)
    person = make_user(
        Role.CLIENT,
        therapist=therapist,
        name="Quillon Newcomer",
        email="new.person@example.org",
        password=None,
    )
    sign_in(therapist)
    record = client.get(f"/therapist/clients/{person.id}").get_data(as_text=True)
    assert "Email the invitation" in record
    page = client.post(f"/therapist/clients/{person.id}/invitation/email")
    assert "Bedrock is emailing this link to" in page.get_data(as_text=True)
    run(app, dt.datetime.now(UTC))
    [(to, message)] = received(inbox)
    assert to == ["new.person@example.org"]
    assert message["Subject"] == "Your invitation to Bedrock"
    assert_nothing_private(message, "Quillon", "Newcomer", therapist.display_name)
    [link] = links(message)
    client.post("/sign-out")
    accept = client.get(path_of(link))
    assert accept.status_code == 200 and "password" in accept.get_data(as_text=True).lower()
    row = db.scalars(sa.select(Notification).where(Notification.kind == "invitation")).one()
    assert (row.status, row.secret) == ("sent", None)


def test_a_new_client_with_an_address_can_be_emailed_the_link_instead(
    app, db, inbox, make_user, client, sign_in
):
    therapist = make_user(Role.THERAPIST)
    sign_in(therapist)
    page = client.post(
        "/therapist/clients/new", data={"display_name": "Pat", "email": "pat@example.org"}
    ).get_data(as_text=True)
    assert "Email a link to pat@example.org instead" in page
    person = db.scalars(sa.select(User).where(User.email == "pat@example.org")).one()
    emailed = client.post(f"/therapist/clients/{person.id}/invitation/email")
    assert "Bedrock is emailing this link to" in emailed.get_data(as_text=True)
    run(app, dt.datetime.now(UTC))
    [(to, message)] = received(inbox, "invitation")
    assert to == ["pat@example.org"]
    # only the newest link works: the one first shown on screen was replaced
    first_link = re.search(r'value="(http[^"]+/invitation/[^"]+)"', page).group(1)  # type: ignore[union-attr]
    client.post("/sign-out")
    assert client.get(urlsplit(first_link).path).status_code == 410
    assert client.get(path_of(links(message)[0])).status_code == 200


def test_the_admin_emails_a_new_therapist_their_invitation(
    app, db, inbox, make_user, client, sign_in
):
    admin = make_user(Role.ADMIN)
    sign_in(admin)
    client.post(
        "/admin/therapists/new", data={"display_name": "Dr New", "email": "new.t@example.org"}
    )
    therapist = db.scalars(sa.select(User).where(User.email == "new.t@example.org")).one()
    assert "Email the invitation" in client.get("/admin/").get_data(as_text=True)
    page = client.post(f"/admin/people/{therapist.id}/invitation/email")
    assert "Bedrock is emailing this link to" in page.get_data(as_text=True)
    run(app, dt.datetime.now(UTC))
    [(to, message)] = received(inbox, "invitation")
    assert to == ["new.t@example.org"]
    assert_nothing_private(message, "Dr New")


# --- delivery: retries, failures, interruptions, two senders ---------------------------------


def test_temporary_failures_are_retried_with_backoff(app, db, inbox, people):
    inbox.reply = "451 4.3.0 Mailbox busy, try later"
    outcome = run(app, at(3, 12))
    assert outcome.retrying == 1
    row = db.scalars(REMINDERS).one()
    assert (row.status, row.attempts) == ("pending", 1)
    assert row.next_attempt_at == at(3, 12, 2)
    assert "451" in (row.last_error or "")
    assert run(app, at(3, 12, 1)).retrying == 0  # not yet
    run(app, at(3, 12, 2))
    db.expire_all()
    row = db.scalars(REMINDERS).one()
    assert (row.attempts, row.next_attempt_at) == (2, at(3, 12, 8))
    inbox.reply = "250 OK"
    assert run(app, at(3, 12, 8)).sent == 1
    assert len(received(inbox)) == 1


def test_failures_are_shown_to_the_admin_who_can_retry(app, db, inbox, make_user, client, sign_in):
    therapist = make_user(Role.THERAPIST)
    person = make_user(Role.CLIENT, therapist=therapist, email="typo@example.org", password=None)
    sign_in(therapist)
    client.post(f"/therapist/clients/{person.id}/invitation/email")
    client.post("/sign-out")
    inbox.reply = "550 5.1.1 No such mailbox"
    assert run(app, dt.datetime.now(UTC)).failed == 1
    admin = make_user(Role.ADMIN)
    sign_in(admin)
    page = client.get("/admin/email").get_data(as_text=True)
    assert "Failed" in page and "550" in page and "No such mailbox" in page
    assert "typo@example.org" in page and "Try again" in page
    row = db.scalars(sa.select(Notification).where(Notification.kind == "invitation")).one()
    assert row.secret is not None  # kept, so that trying again can still send the link
    client.post(f"/admin/email/{row.id}/retry")
    db.expire_all()
    assert db.get(Notification, row.id).status == "pending"
    inbox.reply = "250 OK"
    assert run(app, dt.datetime.now(UTC)).sent == 1
    [(to, _)] = received(inbox, "invitation")
    assert to == ["typo@example.org"]


def test_a_run_that_stopped_halfway_is_taken_over_after_the_lease(app, db, inbox, people):
    run(app, at(3, 6))  # planned for 08:00
    row = db.scalars(REMINDERS).one()
    row.status, row.claim, row.claimed_until, row.attempts = "sending", "x", at(3, 8, 5), 1
    db.commit()
    assert run(app, at(3, 8)).sent == 0  # the other sender may still be at it
    assert run(app, at(3, 8, 6)).sent == 1
    db.expire_all()
    assert db.get(Notification, row.id).attempts == 2
    assert len(received(inbox)) == 1


def test_two_senders_at_once_send_each_message_once(app, db, inbox, make_user, database_url):
    therapist = make_user(Role.THERAPIST)
    clients = [make_user(Role.CLIENT, therapist=therapist) for _ in range(12)]
    with app.app_context():
        for person in clients:
            record_screen(db, person, therapist, on=dt.date(2000, 1, 1))
            plan = plans.start_plan(db, person, therapist, DUE + dt.timedelta(days=30), 0)
            plan.assignments[0].due_on = DUE
        db.commit()
    env = {
        **os.environ,
        "CLINIC_INSTANCE_PATH": app.instance_path,
        "CLINIC_DATABASE_URL": database_url,
        "CLINIC_SECRET_KEY": app.config["SECRET_KEY"],
        "CLINIC_SMTP_HOST": "127.0.0.1",
        "CLINIC_SMTP_PORT": str(app.config["SMTP_PORT"]),
        "CLINIC_SMTP_SECURITY": "none",
        "CLINIC_SMTP_SENDER": "bedrock@practice.example",
        "CLINIC_BASE_URL": BASE_URL,
    }
    command = [sys.executable, "-m", "flask", "--app", "clinic", "send-notifications"]
    command += ["--now", at(3, 12).isoformat()]
    senders = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    outputs = [s.communicate(timeout=120) for s in senders]
    sent = 0
    for sender, (out, err) in zip(senders, outputs, strict=True):
        assert sender.returncode == 0, err.decode()
        sent += int(re.search(r"sent (\d+)", out.decode()).group(1))  # type: ignore[union-attr]
    assert sent == 12  # together, not twice each
    got = received(inbox)
    recipients = sorted(to[0] for to, _ in got)
    assert recipients == sorted(c.email for c in clients)  # twelve messages, each once
    assert len({m["Message-ID"] for _, m in got}) == 12
    db.expire_all()
    rows = db.scalars(sa.select(Notification).where(Notification.kind == "reminder")).all()
    assert len(rows) == 12 and {r.status for r in rows} == {"sent"}
    assert {r.attempts for r in rows} == {1}


def test_a_row_can_be_claimed_by_only_one_sender(app, db, inbox, people, database_url):
    run_at = at(3, 6)  # planned for 08:00, not sent yet
    run(app, run_at)
    row = db.scalars(REMINDERS).one()
    with app.app_context():
        first = notifications.claim_row(database.session(), row.id, at(3, 8))
    with app.app_context():
        second = notifications.claim_row(database.session(), row.id, at(3, 8))
    assert first is not None and second is None
    db.expire_all()
    assert (db.get(Notification, row.id).status, db.get(Notification, row.id).attempts) == (
        "sending",
        1,
    )


# --- without email, and the command ---------------------------------------------------------


def test_without_smtp_nothing_is_queued_and_links_stay_on_screen(
    app, db, make_user, client, sign_in
):
    therapist = make_user(Role.THERAPIST)
    person = make_user(Role.CLIENT, therapist=therapist, password=None)
    sign_in(therapist)
    record = client.get(f"/therapist/clients/{person.id}").get_data(as_text=True)
    assert "Email the invitation" not in record and "Pause reminders" not in record
    page = client.post(f"/therapist/clients/{person.id}/invitation").get_data(as_text=True)
    assert "Copy link" in page and "Email a link" not in page
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code == 0
    assert "Email is not set up" in result.output
    assert db.scalars(sa.select(Notification)).all() == []


def test_the_command_needs_a_base_url_for_links(app, inbox):
    app.config["BASE_URL"] = None
    result = app.test_cli_runner().invoke(args=["send-notifications"])
    assert result.exit_code != 0
    assert "CLINIC_BASE_URL" in result.output


def test_the_command_reports_what_it_did(app, inbox, people):
    result = app.test_cli_runner().invoke(
        args=["send-notifications", "--now", at(3, 12).isoformat()]
    )
    assert result.exit_code == 0, result.output
    assert "Planned 2, sent 1" in result.output  # the reminder; the therapist's digest: nothing new


# --- settings ---------------------------------------------------------------------------------


def test_practice_reminder_settings_keep_what_was_typed_on_error(
    app, db, make_user, client, sign_in
):
    admin = make_user(Role.ADMIN)
    sign_in(admin)
    form = {
        "crisis_contacts": "Call 999",
        "time_zone": "Europe/London",
        "reminder_days": "-1, 0, soon",
        "reminder_window_days": "7",
        "quiet_from_hour": "22",
        "quiet_until_hour": "7",
        "digest_hour": "8",
    }
    bad = client.post("/admin/settings", data=form)
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "“soon” is not a whole number of days" in html
    assert 'value="-1, 0, soon"' in html
    too_late = client.post("/admin/settings", data={**form, "reminder_days": "0, 10"})
    assert too_late.status_code == 422
    assert "would never be sent" in too_late.get_data(as_text=True)
    ok = client.post("/admin/settings", data={**form, "reminder_days": "+2, -1,0"})
    assert ok.status_code == 302
    db.expire_all()
    practice = db.get(User, admin.id).practice
    assert practice.reminder_days == "-1,0,2"
    assert (practice.quiet_from_hour, practice.quiet_until_hour, practice.digest_hour) == (22, 7, 8)


def test_unsubscribe_tokens_are_specific_and_signed(app, db, people, make_user):
    _, person, _ = people
    other = make_user(Role.CLIENT)
    with app.app_context():
        token = notifications.unsubscribe_token(person)
        assert notifications.client_for_token(database.session(), token).id == person.id
        assert notifications.unsubscribe_token(other) != token
        assert notifications.client_for_token(database.session(), token + "x") is None


def test_sign_in_still_works_for_people_in_the_emails(app, people, client):
    # The reminders columns have defaults: existing accounts keep signing in as before.
    _, person, _ = people
    response = client.post("/sign-in", data={"email": person.email, "password": PASSWORD})
    assert response.status_code == 302


# --- the demo practice ------------------------------------------------------------------------


def test_the_demo_practice_sends_a_predictable_set(app, db, inbox):
    """Built today, the demo sends each therapist a summary at midday; three days later, the
    day before this week's homework is due, every client with work still open gets one
    reminder (not Ellis, whose plan is paused, nor Client K, who has not accepted)."""
    cli = app.test_cli_runner()
    built = cli.invoke(args=["demo", "--password", PASSWORD])
    assert built.exit_code == 0, built.output
    midday = dt.datetime.combine(dt.date.today(), dt.time(12), ZoneInfo("Europe/London"))
    first = cli.invoke(args=["send-notifications", "--now", midday.isoformat()])
    assert first.exit_code == 0, first.output
    got = received(inbox)
    # The demo's open alert from an earlier week is past the practice's 24-hour response
    # time: the admin (no safety contact is named) hears of it once.
    assert sorted((to[0], m["Subject"].split(" for ")[0]) for to, m in got) == [
        ("admin@demo.bedrock.test", "Overdue: an alert nobody has acknowledged"),
        ("maya.okafor@demo.bedrock.test", "Your Bedrock summary"),
        ("sam.lindqvist@demo.bedrock.test", "Your Bedrock summary"),
    ]
    again = cli.invoke(args=["send-notifications", "--now", midday.isoformat()])
    assert "sent 0" in again.output and received(inbox) == []
    later = midday + dt.timedelta(days=3)
    cli.invoke(args=["send-notifications", "--now", later.isoformat()])
    got += (later_got := received(inbox))
    assert sorted(to[0] for to, _ in later_got) == [
        f"{name}@demo.bedrock.test"
        for name in ("alex", "jordan", "maya.okafor", "priya", "rosa", "sam.lindqvist", "tomasz")
    ]
    reminders = [m for _, m in later_got if "reminder" in m["Subject"].lower()]
    assert len(reminders) == 5
    assert all("due tomorrow" in body(m) for m in reminders)
    names = ["Jordan", "Alex", "Moreno", "Priya", "Tomasz", "Rosa", "Ellis", "Okafor", "Maya"]
    names += ["Lindqvist", "Harbour"]
    for _, message in got:
        overdue = message["Subject"].startswith("Overdue")
        # An escalation names the treating therapist (staff), never the client.
        assert_nothing_private(
            message,
            *[n for n in names if not overdue or n not in ("Maya", "Okafor", "Lindqvist")],
            category=overdue,
        )


def test_an_email_that_cannot_be_written_fails_visibly_and_the_rest_still_go(
    app, db, inbox, people, make_user, monkeypatch
):
    therapist, _, _ = people
    other = make_user(Role.CLIENT, therapist=therapist)
    with app.app_context():
        record_screen(db, other, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, other, therapist, DUE + dt.timedelta(days=30), 0)
        plan.assignments[0].due_on = DUE
        db.commit()
    real = notifications.WRITERS["reminder"]

    def broken_for_one(db_, row, now):  # type: ignore[no-untyped-def]
        if row.recipient_id == other.id:
            raise RuntimeError("a bug")
        return real(db_, row, now)

    monkeypatch.setitem(notifications.WRITERS, "reminder", broken_for_one)
    outcome = run(app, at(3, 12))
    assert (outcome.sent, outcome.failed) == (1, 1)
    failed = db.scalars(REMINDERS.where(Notification.status == "failed")).one()
    assert "could not write this email (RuntimeError)" in (failed.last_error or "")
    assert len(received(inbox, "reminder")) == 1


# --- the mail server connection ---------------------------------------------------------------


def _self_signed(tmp_path: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 and its key, written as PEM files."""
    cert, key = self_signed_certificate(tmp_path, "smtp", ("127.0.0.1",))
    return str(cert), str(key)


def test_starttls_and_sign_in_to_the_mail_server(app, db, people, tmp_path, monkeypatch):
    """The usual production set-up: STARTTLS on port 587, then AUTH, with the certificate
    checked (here against a test certificate the client is told to trust)."""
    from aiosmtpd.smtp import AuthResult

    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    logins: list[tuple[bytes, bytes]] = []

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    handler = Inbox()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        trusting = ssl.create_default_context(cafile=cert)
        monkeypatch.setattr(mail.ssl, "create_default_context", lambda: trusting)
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=controller.port,
            SMTP_SECURITY="starttls",
            SMTP_USER="bedrock",
            SMTP_PASSWORD="s3cret",
            SMTP_SENDER="bedrock@practice.example",
            BASE_URL=BASE_URL,
        )
        assert run(app, at(3, 12)).sent == 1
        assert logins == [(b"bedrock", b"s3cret")]
        [(to, _)] = received(handler, "reminder")
        assert to == [people[1].email]
        # a wrong password is a refusal the admin sees, not a crash; the message waits for
        # the password to be put right (it was never offered, so no attempt is counted)
        app.config["SMTP_PASSWORD"] = "wrong"
        outcome = run(app, at(4, 12))
        assert (outcome.sent, outcome.failed, outcome.left) == (
            0,
            0,
            2,
        )  # + the summary, then found empty
        assert "535" in (outcome.unreachable or "")
        row = db.scalars(REMINDERS.where(Notification.key.endswith("2026-03-04"))).one()
        assert row.status == "pending" and "535" in (row.last_error or ""), row.last_error
        assert row.attempts == 0
        app.config["SMTP_PASSWORD"] = "s3cret"
        assert run(app, at(4, 12, 1)).sent == 1
        assert len(received(handler, "reminder")) == 1
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


def test_tls_from_the_start_on_port_465(app, db, people, tmp_path, monkeypatch):
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    handler = Inbox()
    controller = Controller(
        handler, hostname="127.0.0.1", port=_free_port(), ssl_context=server_tls
    )
    controller.start()
    try:
        original = ssl.create_default_context
        trusting = ssl.create_default_context(cafile=cert)
        monkeypatch.setattr(mail.ssl, "create_default_context", lambda: trusting)
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=controller.port,
            SMTP_SECURITY="ssl",
            SMTP_SENDER="bedrock@practice.example",
            BASE_URL=BASE_URL,
        )
        assert run(app, at(3, 12)).sent == 1
        assert len(received(handler, "reminder")) == 1
        # a certificate the client does not trust is refused: nothing is sent in clear
        monkeypatch.setattr(mail.ssl, "create_default_context", original)
        run(app, at(4, 12))
        row = db.scalars(REMINDERS.where(Notification.key.endswith("2026-03-04"))).one()
        assert row.status == "pending" and "CERTIFICATE_VERIFY_FAILED" in (row.last_error or "")
        assert received(handler) == []
    finally:
        controller.stop()
        asyncio.set_event_loop(None)


# --- arbitrary input to the settings forms --------------------------------------------------


@pytest.fixture
def settings_people(app, db, make_user):  # type: ignore[no-untyped-def]
    admin = make_user(Role.ADMIN)
    person = make_user(Role.CLIENT)
    a, c = app.test_client(), app.test_client()
    a.post("/sign-in", data={"email": admin.email, "password": PASSWORD})
    c.post("/sign-in", data={"email": person.email, "password": PASSWORD})
    return a, c, admin, person


@FUZZ
@given(
    data=st.dictionaries(
        st.sampled_from(
            [
                "crisis_contacts",
                "clients_see_scores",
                "time_zone",
                "reminder_days",
                "reminder_window_days",
                "quiet_from_hour",
                "quiet_until_hour",
                "digest_hour",
                "reminders",
            ]
        ),
        VALUES,
        max_size=9,
    )
)
def test_settings_forms_take_any_input(settings_people, db, data):
    """A field error or success, never a server error; what is stored is always usable."""
    a, c, admin, person = settings_people
    for http, url in ((a, "/admin/settings"), (c, "/me/settings")):
        response = http.post(url, data=data)
        assert response.status_code in (302, 422), response.status_code
    db.expire_all()
    practice = db.get(User, admin.id).practice
    notifications.parse_offsets(practice.reminder_days)  # parses
    assert 0 <= practice.reminder_window_days <= 60
    for hour in (practice.quiet_from_hour, practice.quiet_until_hour, practice.digest_hour):
        assert 0 <= hour <= 23
    ZoneInfo(practice.time_zone)
    zone = db.get(User, person.id).time_zone
    assert zone is None or ZoneInfo(zone)
    db.rollback()


# --- escalation: nothing forgotten -------------------------------------------------------------


def _open_alert(db, therapist, person, opened: dt.datetime, week: int = 1) -> Alert:
    plan = db.scalars(sa.select(Plan).where(Plan.client_id == person.id)).first()
    check_in = CheckIn(client_id=person.id, plan_id=plan.id, week=week, trust=2, distress=10)
    db.add(check_in)
    db.flush()
    alert = Alert(
        client_id=person.id,
        kind="distress",
        detail="Weekly check-in distress 10 of 10",
        check_in_id=check_in.id,
        opened_at=opened,
    )
    db.add(alert)
    db.commit()
    return alert


@pytest.fixture
def practice_with_alert(app, db, make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST, name="Dr Ada Therapist")
    admin = make_user(Role.ADMIN, name="Office Admin")
    person = make_user(Role.CLIENT, therapist=therapist, name="Robin Overdue-Client")
    with app.app_context():
        record_screen(db, person, therapist, on=dt.date(2000, 1, 1))
        plans.start_plan(db, person, therapist, dt.date.today() - dt.timedelta(days=20), 0)
        db.commit()
    return therapist, admin, person


def test_an_alert_nobody_acknowledges_in_time_escalates_once_to_the_admins(
    app, db, inbox, practice_with_alert
):
    therapist, admin, person = practice_with_alert
    now = dt.datetime.now(UTC)
    late = _open_alert(db, therapist, person, now - dt.timedelta(hours=25), week=1)
    recent = _open_alert(db, therapist, person, now - dt.timedelta(hours=23), week=2)
    run(app, now)
    overdue = [(to, m) for to, m in received(inbox) if m["Subject"].startswith("Overdue")]
    assert [to for to, _ in overdue] == [[admin.email]]
    text = body(overdue[0][1])
    assert "a client of Dr Ada Therapist has not been acknowledged within 24 hours" in text
    assert_nothing_private(overdue[0][1], "Robin", "Overdue-Client", "10 of 10", category=True)
    db.expire_all()
    assert db.get(Alert, late.id).escalated_at is not None
    assert db.get(Alert, recent.id).escalated_at is None
    event = db.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "escalation")).one()
    assert (event.object_id, event.practice_id, event.user_id) == (late.id, admin.practice_id, None)
    run(app, now + dt.timedelta(minutes=5))  # escalated once, not on every run
    assert not [m for _, m in received(inbox) if m["Subject"].startswith("Overdue")]


def test_named_safety_contacts_are_told_instead_and_an_acknowledged_alert_is_not_escalated(
    app, db, inbox, practice_with_alert, make_user
):
    therapist, admin, person = practice_with_alert
    lead = make_user(Role.THERAPIST, name="Dr Lead Clinician")
    lead.safety_contact = True
    practice = db.get(User, admin.id).practice
    practice.alert_response_hours = 2
    db.commit()
    now = dt.datetime.now(UTC)
    done = _open_alert(db, therapist, person, now - dt.timedelta(hours=3), week=1)
    done.acknowledged_at, done.note = now - dt.timedelta(hours=1), "Phoned; safe"
    db.commit()
    run(app, now)
    assert not [m for _, m in received(inbox) if m["Subject"].startswith("Overdue")]
    _open_alert(db, therapist, person, now - dt.timedelta(hours=3), week=2)
    run(app, now + dt.timedelta(minutes=1))
    overdue = [to for to, m in received(inbox) if m["Subject"].startswith("Overdue")]
    assert overdue == [[lead.email]]


def test_one_email_per_set_of_answers_naming_the_most_urgent_kind(
    app, db, inbox, practice_with_alert, client, sign_in
):
    therapist, _, person = practice_with_alert
    sign_in(person)
    answers = {f"item-{i}": "3" for i in range(1, 10)}
    response = client.post("/me/questionnaires/week/1/phq9", data=answers)
    assert response.status_code == 302
    assert {a.kind for a in db.scalars(sa.select(Alert))} == {"item9", "severe"}
    run(app, dt.datetime.now(UTC) + dt.timedelta(seconds=1))
    mine = [m for to, m in received(inbox) if to == [therapist.email]]
    alerts_sent = [m for m in mine if "sign in to see who" in m["Subject"]]
    assert [m["Subject"] for m in alerts_sent] == ["Urgent: a self-harm answer; sign in to see who"]
    assert_nothing_private(alerts_sent[0], "Robin", "Overdue-Client", category=True)


# --- never silently dropped: exit status, a server that is down, headers, discreet wording ----


def test_the_command_exits_non_zero_when_a_message_fails_and_prints_counts_only(app, inbox, people):
    _, person, _ = people
    inbox.reply = "550 5.1.1 No such mailbox"
    result = app.test_cli_runner().invoke(
        args=["send-notifications", "--now", at(3, 12).isoformat()]
    )
    assert result.exit_code == 1, result.output
    assert "sent 0, will retry 0, failed 1, left for later 0" in result.output
    assert person.email not in result.output and "Jordan" not in result.output
    inbox.reply = "451 4.3.0 Try again later"  # a later message waiting for its retry
    later = app.test_cli_runner().invoke(
        args=["send-notifications", "--now", at(4, 12).isoformat()]
    )
    assert later.exit_code == 1 and "will retry 1" in later.output, later.output
    inbox.reply = "250 OK"
    fine = app.test_cli_runner().invoke(
        args=["send-notifications", "--now", at(4, 12, 2).isoformat()]
    )
    assert fine.exit_code == 0 and "sent 1" in fine.output, fine.output


class HangUp:
    """A TCP server on 127.0.0.1 that accepts each connection and closes it at once, like a
    mail server that is down behind a proxy; it counts the connections."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", _free_port()))
        self.sock.listen()
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            self.connections += 1
            conn.close()

    def stop(self) -> None:
        self.running = False
        self.thread.join()
        self.sock.close()


def test_a_run_stops_at_the_first_connection_failure_and_leaves_the_rest_waiting(
    app, db, inbox, make_user
):
    therapist = make_user(Role.THERAPIST)
    clients = [make_user(Role.CLIENT, therapist=therapist) for _ in range(5)]
    with app.app_context():
        for person in clients:
            record_screen(db, person, therapist, on=dt.date(2000, 1, 1))
            plan = plans.start_plan(db, person, therapist, DUE + dt.timedelta(days=30), 0)
            plan.assignments[0].due_on = DUE
        db.commit()
    real_port = app.config["SMTP_PORT"]
    down = HangUp()
    try:
        app.config["SMTP_PORT"] = down.port
        result = app.test_cli_runner().invoke(
            args=["send-notifications", "--now", at(3, 12).isoformat()]
        )
    finally:
        down.stop()
    assert result.exit_code == 1, result.output
    assert down.connections == 1  # not once per message
    # the five reminders and the therapist's summary
    assert "sent 0, will retry 0, failed 0, left for later 6" in result.output
    assert "Stopped: the mail server could not be used (SMTPServerDisconnected" in result.output
    assert not any(person.email in result.output for person in clients)
    rows = db.scalars(REMINDERS).all()
    assert len(rows) == 5
    assert {(r.status, r.attempts, r.next_attempt_at) for r in rows} == {("pending", 0, at(3, 12))}
    assert sum("could not be used" in (r.last_error or "") for r in rows) == 1
    # A server refusing connections outright: the same, and nothing counted against anyone.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        app.config["SMTP_PORT"] = closed.getsockname()[1]  # bound, not listening: refused
        outcome = run(app, at(3, 12, 1))
    assert outcome.unreachable and "ConnectionRefusedError" in outcome.unreachable
    assert (outcome.sent, outcome.left) == (0, 6)
    app.config["SMTP_PORT"] = real_port
    assert run(app, at(3, 12, 2)).sent == 5  # the summary is found to have nothing new
    db.expire_all()
    assert {(r.status, r.attempts) for r in db.scalars(REMINDERS)} == {("sent", 1)}
    assert len(received(inbox, "reminder")) == 5


FORBIDDEN = ["therap", "session", "homework", "questionnaire", "worksheet", "check-in"]
FORBIDDEN += ["client", "caseload", "treat", "clinic", "cbt", "counsel", "psych", "mental"]
FORBIDDEN += ["mood", "anxi", "depress", "self-harm", "suicid", "distress", "safety", "phq"]
FORBIDDEN += ["gad", "diagnos", "patient", "severe", "score", "care", "health"]


def _clinical_words(message: EmailMessage) -> list[str]:
    """The clinical words in an email's subject, text and link paths (tokens left out)."""
    text = f"{message['Subject']}\n{body(message)}"
    paths = [
        "/".join(p for p in urlsplit(url).path.split("/") if len(p) < 20)
        for url in re.findall(r"https?://\S+", text)
    ]
    whole = re.sub(r"https?://\S+", "", text) + " " + " ".join(paths)
    return [word for word in FORBIDDEN if word in whole.lower()]


@pytest.mark.parametrize("discreet", [False, True], ids=["plain", "discreet"])
def test_every_kind_of_email_has_its_headers_and_discreet_wording_mentions_no_therapy(
    app, db, inbox, practice_with_alert, make_user, client, sign_in, discreet
):
    therapist, admin, person = practice_with_alert
    practice = db.get(User, admin.id).practice
    # A name that could smuggle a header or a line of its own into an email (forms refuse
    # control characters; a value already stored must not matter either).
    practice.name = "Harbour Street Therapy\r\nBcc: evil@example.org"
    practice.discreet_emails = discreet
    practice.quiet_from_hour = practice.quiet_until_hour = 0  # no quiet hours
    practice.digest_hour = 0
    db.get(User, therapist.id).display_name = "Ada\nLovelace"
    homework = db.scalars(sa.select(Plan).where(Plan.client_id == person.id)).one().assignments[0]
    homework.due_on = dt.datetime.now(ZoneInfo("Europe/London")).date()  # a reminder day
    db.commit()
    now = dt.datetime.now(UTC)
    _open_alert(db, therapist, person, now - dt.timedelta(hours=25))
    newcomer = make_user(Role.CLIENT, therapist=therapist, password=None, email="new@example.org")
    sign_in(therapist)
    assert client.post(f"/therapist/clients/{newcomer.id}/invitation/email").status_code == 200
    before = dt.datetime.now(UTC).replace(microsecond=0)
    outcome = run(app, now + dt.timedelta(seconds=1))
    after = dt.datetime.now(UTC)
    sent = db.scalars(sa.select(Notification.kind).where(Notification.status == "sent")).all()
    assert sorted(sent) == ["alert", "digest", "escalation", "invitation", "reminder"]
    assert outcome.ok
    got = received(inbox)
    assert len(got) == len(inbox.raw) == 5
    for raw, (_, message) in zip(inbox.raw, got, strict=True):
        # Read as received on the wire: each header once, on one line.
        headers = raw.split(b"\r\n\r\n", 1)[0].decode().split("\r\n")
        assert not [h for h in headers if "Bcc" in h or "evil@" in h]
        assert headers.count("Auto-Submitted: auto-generated") == 1, headers
        [date] = [h.removeprefix("Date: ") for h in headers if h.startswith("Date: ")]
        sent_at = email.utils.parsedate_to_datetime(date)
        assert sent_at.utcoffset() == dt.timedelta(0) and before <= sent_at <= after
        [message_id] = [h.removeprefix("Message-ID: ") for h in headers if "Message-ID:" in h]
        assert re.fullmatch(r"<bedrock\.\d+\.[0-9a-f]{16}@practice\.example>", message_id)
        assert not re.search(r"^\s*Bcc", body(message), re.M)  # no line of its own either
        assert_nothing_private(message, "Robin", "Overdue-Client", "10 of 10", category=True)
        words = _clinical_words(message)
        if discreet:
            assert words == [], (message["Subject"], words, body(message))
        else:
            assert words, message["Subject"]  # the plain wording says what Bedrock is for
    texts = {m["Subject"]: body(m) for _, m in got}
    if discreet:
        [reminder] = [t for subject, t in texts.items() if "eminder" in subject]
        assert "You have something waiting" in reminder and "to do due today" in reminder
        assert "You have been invited to Bedrock" in texts["Your invitation to Bedrock"]
        assert (
            "for someone Ada Lovelace works with"
            in texts["Overdue: an alert nobody has acknowledged"]
        )
    else:
        assert (
            "Harbour Street Therapy Bcc: evil@example.org has invited you to Bedrock."
            in texts["Your invitation to Bedrock"]
        )
        assert (
            "a client of Ada Lovelace has not" in texts["Overdue: an alert nobody has acknowledged"]
        )


def test_the_admin_turns_discreet_emails_on_in_settings(app, db, make_user, client, sign_in):
    admin = make_user(Role.ADMIN)
    sign_in(admin)
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Discreet emails" in page and 'name="discreet_emails"' in page
    form = {
        "crisis_contacts": "Call 999",
        "time_zone": "Europe/London",
        "reminder_days": "-1,0,2",
        "reminder_window_days": "7",
        "quiet_from_hour": "21",
        "quiet_until_hour": "8",
        "digest_hour": "7",
        "alert_response_hours": "24",
    }
    assert client.post("/admin/settings", data={**form, "discreet_emails": "y"}).status_code == 302
    db.expire_all()
    assert db.get(User, admin.id).practice.discreet_emails is True
    [box] = re.findall(r"<input[^>]*discreet_emails[^>]*>", client.get("/admin/settings").text)
    assert "checked" in box
    assert client.post("/admin/settings", data=form).status_code == 302
    db.expire_all()
    assert db.get(User, admin.id).practice.discreet_emails is False
