"""A person's own account: confirming it's them before sensitive changes, changing the email
address, and how the session cookie is named and scoped behind HTTPS."""

from __future__ import annotations

from http.cookies import SimpleCookie

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import create_app
from clinic.models import AuditEvent, Role, User

from .conftest import PASSWORD, give_keys
from .test_auth import page_text


def age_session(client, minutes: int) -> None:  # type: ignore[no-untyped-def]
    with client.session_transaction() as s:
        s["fresh_at"] -= minutes * 60


# --- fresh sign-in ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["/account/password", "/account/email"],
)
def test_account_changes_need_a_recent_sign_in(client, make_user, sign_in, url):
    user = make_user(Role.THERAPIST)
    sign_in(user)
    assert client.get(url).status_code == 200  # just signed in: fresh
    age_session(client, 11)
    response = client.get(url)
    assert response.headers["Location"] == f"/account/confirm?next={url}"
    page = client.get(response.headers["Location"])
    assert "Confirm it's you" in page_text(page)
    assert BeautifulSoup(page.data, "html.parser").find(id="code") is None  # no two-step yet
    wrong = client.post("/account/confirm", data={"password": "not my password", "next": url})
    assert wrong.status_code == 422 and "not your password" in page_text(wrong)
    assert client.get(url).status_code == 302  # still not confirmed
    ok = client.post("/account/confirm", data={"password": PASSWORD, "next": url})
    assert ok.headers["Location"] == url
    assert client.get(url).status_code == 200


def test_the_window_is_configurable(app, client, make_user, sign_in):
    app.config["FRESH_SIGN_IN_MINUTES"] = 60
    sign_in(make_user(Role.CLIENT))
    age_session(client, 30)
    assert client.get("/account/password").status_code == 200
    age_session(client, 31)
    assert client.get("/account/password").status_code == 302


def test_the_audit_export_needs_a_recent_sign_in_and_returns_to_the_same_filter(
    client, make_user, sign_in
):
    sign_in(make_user(Role.ADMIN))
    url = "/admin/audit.csv?action=change&outcome=allowed"
    assert client.get(url).status_code == 200
    age_session(client, 11)
    response = client.get(url)
    assert response.status_code == 302 and response.headers["Location"].startswith(
        "/account/confirm?next="
    )
    confirm = client.post(
        "/account/confirm", data={"password": PASSWORD, "next": url}, follow_redirects=False
    )
    assert confirm.headers["Location"] == url
    export = client.get(url)
    assert export.status_code == 200 and export.mimetype == "text/csv"


def test_confirming_never_redirects_off_site(client, make_user, sign_in):
    sign_in(make_user(Role.THERAPIST))
    response = client.post(
        "/account/confirm", data={"password": PASSWORD, "next": "//evil.example/"}
    )
    assert response.headers["Location"] == "/therapist/"


def test_wrong_passwords_on_the_confirm_page_lock_like_sign_in(client, make_user, sign_in):
    user = make_user(Role.THERAPIST)
    sign_in(user)
    age_session(client, 11)
    for _ in range(5):
        client.post("/account/confirm", data={"password": "guess guess guess"})
    locked = client.post("/account/confirm", data={"password": PASSWORD})
    assert locked.status_code == 429 and "Too many attempts" in page_text(locked)


# --- email change ----------------------------------------------------------------------------


def test_changing_the_email_needs_the_password_signs_out_elsewhere_and_is_audited(
    app, db, make_user
):
    user = make_user(Role.CLIENT, email="rosa@example.org")
    here, elsewhere = app.test_client(), app.test_client()
    for browser in (here, elsewhere):
        browser.post("/sign-in", data={"email": "rosa@example.org", "password": PASSWORD})
    wrong = here.post(
        "/account/email", data={"email": "rosa.new@example.org", "current": "not it at all"}
    )
    assert wrong.status_code == 422
    page = BeautifulSoup(wrong.data, "html.parser")
    assert "not your current password" in page.find(id="current-error").get_text()
    assert page.find(id="email")["value"] == "rosa.new@example.org"  # the typing is kept
    ok = here.post("/account/email", data={"email": " Rosa.New@Example.org ", "current": PASSWORD})
    assert ok.headers["Location"] == "/account"
    assert "rosa.new@example.org" in page_text(here.get("/account"))
    db.expire_all()
    assert db.get(User, user.id).email == "rosa.new@example.org"
    assert elsewhere.get("/me/").headers["Location"].startswith("/sign-in")
    event = db.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "account_email")).one()
    assert (event.user_id, event.object_id) == (user.id, user.id)
    # The new address signs in; the old one no longer does.
    fresh = app.test_client()
    old = fresh.post("/sign-in", data={"email": "rosa@example.org", "password": PASSWORD})
    assert old.status_code == 422
    new = fresh.post("/sign-in", data={"email": "rosa.new@example.org", "password": PASSWORD})
    assert new.headers["Location"] == "/me/"


def test_an_email_in_use_is_refused_whatever_its_case(client, db, make_user, sign_in):
    make_user(Role.THERAPIST, email="taken@example.org")
    user = make_user(Role.THERAPIST)
    sign_in(user)
    response = client.post(
        "/account/email", data={"email": "TAKEN@example.org", "current": PASSWORD}
    )
    assert response.status_code == 422
    page = BeautifulSoup(response.data, "html.parser")
    assert "already exists" in page.find(id="email-error").get_text()
    db.expire_all()
    assert db.get(User, user.id).email == user.email


# --- cookies ---------------------------------------------------------------------------------


def _set_cookies(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {header.split("=", 1)[0]: header for header in response.headers.getlist("Set-Cookie")}


def test_behind_https_the_session_cookie_is_a_host_cookie(
    tmp_path, database_url, monkeypatch, db, make_user
):
    # The test app's instance folder: a second app on the same database needs the same keys.
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CLINIC_SESSION_COOKIE_SECURE", "true")
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SECRET_KEY": give_keys(tmp_path / "instance"),
            "WTF_CSRF_ENABLED": False,
        }
    )
    try:
        user = make_user(Role.THERAPIST)
        client = app.test_client()
        response = client.post(
            "/sign-in",
            data={"email": user.email, "password": PASSWORD},
            base_url="https://localhost",
        )
        assert response.status_code == 302
        cookies = _set_cookies(response)
        assert "session" not in cookies
        header = cookies["__Host-session"]
        parsed = SimpleCookie(header)["__Host-session"]
        assert parsed["secure"] and parsed["httponly"] and parsed["path"] == "/"
        assert not parsed["domain"]
        assert parsed["samesite"] == "Lax"
        assert app.config["REMEMBER_COOKIE_NAME"].startswith("__Host-")
        assert app.config["REMEMBER_COOKIE_SECURE"] is True
    finally:
        app.extensions["clinic.db"].kw["bind"].dispose()


def test_without_https_the_demo_cookie_keeps_its_plain_name(client, make_user):
    user = make_user(Role.THERAPIST)
    response = client.post("/sign-in", data={"email": user.email, "password": PASSWORD})
    cookies = _set_cookies(response)
    assert "session" in cookies and "__Host-session" not in cookies
    assert "Secure" not in cookies["session"]
