"""A forgotten password: the sign-in page says what to do; with email set up, a client can
have a one-time link sent to their own address, and the answer never says whose address it is."""

from __future__ import annotations

import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic.models import Invitation, Notification, Role

from .test_auth import page_text


def _email_on(app) -> None:  # type: ignore[no-untyped-def]
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_SENDER="bedrock@practice.example")


def test_sign_in_leads_to_what_to_do(app, client):
    page = BeautifulSoup(client.get("/sign-in").data, "html.parser")
    link = page.find("a", string="Forgotten your password?")
    assert link is not None
    text = page_text(client.get(link["href"]))
    assert "Ask your therapist" in text and "give you a link in your next session" in text
    assert "Email me a link" not in text  # no email set up: no form that cannot work


def test_with_email_a_client_is_sent_a_link_and_nobody_learns_whose_address(
    app, db, client, make_user
):
    _email_on(app)
    person = make_user(Role.CLIENT)
    therapist = make_user(Role.THERAPIST)
    page = client.get("/sign-in/forgotten")
    assert "Email me a link" in page_text(page)
    answers = {}
    for email in (person.email, "nobody@example.org", therapist.email):
        answers[email] = page_text(client.post("/sign-in/forgotten", data={"email": email}))
    assert len(set(answers.values())) == 1 and "on its way" in answers[person.email]
    rows = db.scalars(sa.select(Notification)).all()
    assert [(n.kind, n.recipient_id) for n in rows] == [("invitation", person.id)]
    link = db.scalars(sa.select(Invitation)).one()
    assert link.user_id == person.id and link.created_by_id == person.id
    # a therapist's sign-in cannot be reset by email alone
    assert not db.scalars(sa.select(Invitation).where(Invitation.user_id == therapist.id)).all()


def test_the_form_cannot_flood_an_inbox(app, db, client, make_user):
    _email_on(app)
    person = make_user(Role.CLIENT)
    for _ in range(8):
        client.post("/sign-in/forgotten", data={"email": person.email})
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification)) == 5


def test_an_empty_address_is_asked_for_again(app, client):
    _email_on(app)
    response = client.post("/sign-in/forgotten", data={"email": ""})
    assert response.status_code == 422
    soup = BeautifulSoup(response.data, "html.parser")
    assert "Enter the email address" in soup.find(id="email-error").get_text()
