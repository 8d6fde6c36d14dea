"""Signing in and out: what a person sees, and what an attacker does not learn."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from clinic.models import Role
from clinic.web.gates import is_safe_next

from .conftest import PASSWORD


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return " ".join(BeautifulSoup(response.data, "html.parser").get_text().split())


def test_sign_in_lands_on_the_role_home(client, make_user):
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    response = client.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response.headers["Location"] == "/therapist/"
    assert "Your caseload" in page_text(client.get("/therapist/"))


def test_sign_in_email_is_case_insensitive_and_trimmed(client, make_user):
    therapist = make_user(Role.THERAPIST, email="dr.rivers@example.org")
    response = client.post(
        "/sign-in", data={"email": "  Dr.Rivers@EXAMPLE.org ", "password": PASSWORD}
    )
    assert response.headers["Location"] == "/therapist/"
    assert therapist.email == "dr.rivers@example.org"


@pytest.mark.parametrize("which", ["wrong password", "unknown email"])
def test_failed_sign_in_says_only_that_email_or_password_is_incorrect(client, make_user, which):
    user = make_user(Role.CLIENT, email="rosa@example.org")
    email = user.email if which == "wrong password" else "nobody@example.org"
    password = "not the password at all" if which == "wrong password" else PASSWORD
    response = client.post("/sign-in", data={"email": email, "password": password})
    assert response.status_code == 422
    text = page_text(response)
    assert "Email or password is incorrect." in text
    assert "not the password" not in response.get_data(as_text=True)  # never echoed back
    assert "no account" not in text.lower() and "unknown" not in text.lower()
    assert client.get("/me/").status_code == 302  # still anonymous


def test_inactive_and_not_yet_accepted_accounts_cannot_sign_in(client, make_user, db):
    deactivated = make_user(Role.THERAPIST)
    deactivated.active = False
    db.commit()
    pending = make_user(Role.CLIENT, password=None)
    for user in (deactivated, pending):
        response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
        assert response.status_code == 422
        assert "Email or password is incorrect." in page_text(response)


def test_over_long_password_is_refused_without_hashing(client, make_user, monkeypatch):
    from clinic import accounts

    user = make_user(Role.THERAPIST)

    class NoHashing:
        def __getattr__(self, name: str):  # type: ignore[no-untyped-def]
            raise AssertionError(f"a 10,000-character password reached the hasher ({name})")

    monkeypatch.setattr(accounts, "_hasher", NoHashing())
    response = client.post("/sign-in", data={"email": user.email, "password": "x" * 10_000})
    assert response.status_code == 422
    assert "Email or password is incorrect." in page_text(response)


def test_next_redirects_only_to_a_path_on_this_site(client, make_user):
    user = make_user(Role.THERAPIST)
    response = client.post(
        "/sign-in",
        data={"email": user.email, "password": PASSWORD, "next": "/therapist/clients/new"},
    )
    assert response.headers["Location"] == "/therapist/clients/new"
    client.post("/sign-out")
    response = client.post(
        "/sign-in",
        data={"email": user.email, "password": PASSWORD, "next": "https://evil.example/x"},
    )
    assert response.headers["Location"] == "/therapist/"


def test_anonymous_visitor_is_sent_to_sign_in_and_back(client, make_user):
    response = client.get("/therapist/clients/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")
    form = BeautifulSoup(client.get(response.headers["Location"]).data, "html.parser")
    assert form.find("input", {"name": "next"})["value"] == "/therapist/clients/new"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "https://evil.example",
        "http:/evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/ok\r\nSet-Cookie: x=y",
        "",
        None,
    ],
)
def test_unsafe_next_targets_are_refused(target):
    assert not is_safe_next(target)


@pytest.mark.parametrize(
    "target", ["/", "/therapist/", "/me/?week=3", "/therapist/clients/5#notes"]
)
def test_local_paths_are_safe(target):
    assert is_safe_next(target)


def test_sign_out_is_post_only(client, make_user, sign_in):
    sign_in(make_user(Role.CLIENT))
    assert client.get("/sign-out").status_code == 405
    assert client.get("/me/").status_code == 200  # still signed in
    response = client.post("/sign-out")
    assert response.status_code == 302
    assert client.get("/me/").status_code == 302


def test_a_cookie_copied_before_sign_out_is_refused_afterwards(app, client, make_user, sign_in):
    sign_in(make_user(Role.CLIENT))
    stolen = client.get_cookie("session")
    assert stolen is not None
    client.post("/sign-out")
    other = app.test_client()  # another browser, replaying the old cookie
    other.set_cookie("session", stolen.value)
    response = other.get("/me/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_a_tampered_session_cookie_is_anonymous(app, client, make_user, sign_in):
    sign_in(make_user(Role.THERAPIST))
    cookie = client.get_cookie("session")
    assert cookie is not None
    payload, rest = cookie.value.split(".", 1)
    forged = app.test_client()
    forged.set_cookie(
        "session", payload[:-2] + ("AA" if payload[-2:] != "AA" else "BB") + "." + rest
    )
    response = forged.get("/therapist/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


@pytest.mark.parametrize(("key", "age"), [("seen_at", 31 * 60), ("signed_in_at", 12 * 3600 + 60)])
def test_sessions_end_after_30_idle_minutes_and_12_hours(client, make_user, sign_in, key, age):
    sign_in(make_user(Role.THERAPIST))
    assert client.get("/therapist/").status_code == 200
    with client.session_transaction() as session:
        session[key] -= age
    response = client.get("/therapist/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert client.get("/therapist/").status_code == 302  # and the session is gone for good


def test_activity_keeps_a_session_alive(client, make_user, sign_in):
    sign_in(make_user(Role.THERAPIST))
    with client.session_transaction() as session:
        session["seen_at"] -= 29 * 60
    assert client.get("/therapist/").status_code == 200
    with client.session_transaction() as session:
        assert session["seen_at"] > session["signed_in_at"] - 1  # refreshed by the request


def test_signing_in_starts_a_fresh_session(client, make_user):
    user = make_user(Role.THERAPIST)
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    with client.session_transaction() as session:
        assert "planted" not in session


def test_changing_the_password_ends_every_other_session(app, client, make_user, sign_in):
    user = make_user(Role.CLIENT)
    sign_in(user)
    other = app.test_client()
    other.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    assert other.get("/me/").status_code == 200
    wrong = client.post(
        "/account/password",
        data={
            "current": "not it at all",
            "password": "a brand new phrase",
            "confirm": "a brand new phrase",
        },
    )
    assert wrong.status_code == 422 and "not your current password" in page_text(wrong)
    weak = client.post(
        "/account/password", data={"current": PASSWORD, "password": "short", "confirm": "short"}
    )
    assert weak.status_code == 422 and "at least 12 characters" in page_text(weak)
    ok = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "password": "a brand new phrase",
            "confirm": "a brand new phrase",
        },
    )
    assert ok.status_code == 302
    assert client.get("/me/").status_code == 200  # this browser stays signed in
    assert other.get("/me/").status_code == 302  # the other one is out
    client.post("/sign-out")
    assert (
        client.post(
            "/sign-in", data={"email": user.email, "password": "a brand new phrase"}
        ).status_code
        == 302
    )
