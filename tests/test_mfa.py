"""Two-step sign-in as therapists and admins live it: setting it up, signing in with a code or a
recovery code, what an attacker with the password (or an old code) cannot do, the practice
setting that makes it mandatory, and the admin's reset."""

from __future__ import annotations

import re
import time

import pyotp
import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic.models import AuditEvent, Practice, RecoveryCode, Role, User

from .conftest import PASSWORD
from .test_auth import page_text


def soup(response):  # type: ignore[no-untyped-def]
    return BeautifulSoup(response.data, "html.parser")


def fresh_user(db, user: User) -> User:
    db.expire_all()
    return db.get(User, user.id)


def enrol(client, db, user: User) -> tuple[str, list[str]]:  # type: ignore[no-untyped-def]
    """Set up two-step sign-in through the pages; returns the secret and the recovery codes."""
    assert client.post("/account/two-step/start").status_code == 302
    page = client.get("/account/two-step")
    secret = soup(page).find("code", class_="secret").get_text().strip()
    # The code must be for a time step other than any a later test uses at once: take the
    # previous step, which valid_window=1 accepts.
    code = pyotp.TOTP(secret).at(time.time() - 30)
    done = client.post("/account/two-step/confirm", data={"code": code})
    assert done.status_code == 200, page_text(done)
    codes = [c.get_text() for c in soup(done).select(".recovery-codes code")]
    return secret, codes


@pytest.fixture
def therapist(make_user):  # type: ignore[no-untyped-def]
    return make_user(Role.THERAPIST, name="Dr Rivers")


def test_setting_up_shows_the_key_the_address_and_a_qr_code_and_needs_a_first_code(
    client, db, sign_in, therapist
):
    sign_in(therapist)
    assert "Off" in page_text(client.get("/account/two-step"))
    client.post("/account/two-step/start")
    page = client.get("/account/two-step")
    html = soup(page)
    secret = html.find("code", class_="secret").get_text().strip()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    uri = html.find_all("code", class_="secret")[1].get_text()
    assert uri.startswith("otpauth://totp/") and f"secret={secret}" in uri
    assert html.find("figure", class_="qr").find("svg") is not None
    assert html.find("script", src=False) is None  # no inline script (the CSP forbids it)
    # Not on until a first code matches.
    wrong = client.post("/account/two-step/confirm", data={"code": "000000"})
    assert wrong.status_code == 422
    assert "did not match" in soup(wrong).find(id="code-error").get_text()
    assert not fresh_user(db, therapist).mfa_enabled
    done = client.post("/account/two-step/confirm", data={"code": pyotp.TOTP(secret).now()})
    assert done.status_code == 200
    codes = [c.get_text() for c in soup(done).select(".recovery-codes code")]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert fresh_user(db, therapist).mfa_enabled
    # Shown once: the page afterwards shows how many are left, not the codes.
    later = page_text(client.get("/account/two-step"))
    assert "10 unused recovery codes" in later and codes[0] not in later


def test_the_secret_is_encrypted_and_recovery_codes_are_stored_hashed(
    client, db, sign_in, therapist
):
    sign_in(therapist)
    secret, codes = enrol(client, db, therapist)
    with db.bind.connect() as conn:  # the raw column, below the decrypting type
        stored = conn.execute(
            sa.text("SELECT totp_secret FROM user_account WHERE id = :id"), {"id": therapist.id}
        ).scalar_one()
        hashes = conn.execute(sa.text("SELECT code_hash FROM recovery_code")).scalars().all()
    assert secret not in stored and stored.startswith("gAAAA")  # a Fernet token
    assert fresh_user(db, therapist).totp_secret == secret
    assert len(hashes) == 10
    for code in codes:
        assert not any(code.replace("-", "") in h for h in hashes)


def test_signing_in_asks_for_the_code_after_the_password(app, client, db, sign_in, therapist):
    sign_in(therapist)
    secret, _ = enrol(client, db, therapist)
    client.post("/sign-out")
    response = client.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    assert response.headers["Location"] == "/sign-in/code"
    # The password alone opens nothing.
    assert client.get("/therapist/").headers["Location"].startswith("/sign-in")
    wrong = client.post("/sign-in/code", data={"code": "123456"})
    assert wrong.status_code == 422 and "did not work" in page_text(wrong)
    ok = client.post("/sign-in/code", data={"code": pyotp.TOTP(secret).now()})
    assert ok.headers["Location"] == "/therapist/"
    assert client.get("/therapist/").status_code == 200


def test_a_used_code_cannot_be_replayed_and_the_neighbouring_step_is_accepted(
    app, db, sign_in, therapist
):
    c = app.test_client()
    c.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    secret, _ = enrol(c, db, therapist)
    code = pyotp.TOTP(secret).now()  # the current step; set-up used the one before
    a, b = app.test_client(), app.test_client()
    for browser in (a, b):
        browser.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    assert a.post("/sign-in/code", data={"code": code}).status_code == 302
    replay = b.post("/sign-in/code", data={"code": code})
    assert replay.status_code == 422
    assert b.get("/therapist/").status_code == 302
    # An older step than the last accepted one is refused too.
    old = pyotp.TOTP(secret).at(time.time() - 30)
    assert b.post("/sign-in/code", data={"code": old}).status_code == 422
    # The next step (clock drift of one step) is accepted.
    ahead = pyotp.TOTP(secret).at(time.time() + 30)
    assert b.post("/sign-in/code", data={"code": ahead}).status_code == 302
    assert fresh_user(db, therapist).totp_last_step == int(time.time() + 30) // 30


def test_a_recovery_code_works_once_and_new_codes_replace_the_old(
    app, client, db, sign_in, therapist
):
    sign_in(therapist)
    _, codes = enrol(client, db, therapist)
    client.post("/sign-out")
    client.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    used = client.post("/sign-in/code", data={"code": codes[0].upper()})
    assert used.status_code == 302
    assert "9 left" in page_text(client.get("/therapist/"))
    assert any(e.object_type == "recovery_code" for e in db.scalars(sa.select(AuditEvent)))
    client.post("/sign-out")
    client.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    assert client.post("/sign-in/code", data={"code": codes[0]}).status_code == 422
    assert client.post("/sign-in/code", data={"code": codes[1]}).status_code == 302
    # New codes: the old unused ones stop working.
    new = client.post("/account/two-step/recovery-codes")
    fresh = [c.get_text() for c in soup(new).select(".recovery-codes code")]
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    client.post("/sign-out")
    client.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    assert client.post("/sign-in/code", data={"code": codes[2]}).status_code == 422
    assert client.post("/sign-in/code", data={"code": fresh[0]}).status_code == 302
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).where(RecoveryCode.used_at.is_not(None))) == 1


def test_guessing_codes_is_throttled_per_account(app, client, db, sign_in, therapist):
    sign_in(therapist)
    secret, _ = enrol(client, db, therapist)
    client.post("/sign-out")
    client.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    for _ in range(5):
        assert client.post("/sign-in/code", data={"code": "000000"}).status_code == 422
    # Locked now: even the right code waits.
    locked = client.post("/sign-in/code", data={"code": pyotp.TOTP(secret).now()})
    assert locked.status_code == 429
    assert "Too many attempts" in page_text(locked)
    assert client.get("/therapist/").status_code == 302


def test_the_code_page_gives_up_after_a_few_minutes(app, client, db, sign_in, therapist):
    sign_in(therapist)
    secret, _ = enrol(client, db, therapist)
    client.post("/sign-out")
    client.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    with client.session_transaction() as s:
        s["mfa_pending"] = s["mfa_pending"] | {"at": s["mfa_pending"]["at"] - 6 * 60}
    late = client.post("/sign-in/code", data={"code": pyotp.TOTP(secret).now()})
    assert late.headers["Location"] == "/sign-in"
    assert client.get("/therapist/").status_code == 302


def test_a_practice_can_require_two_step_sign_in(app, db, make_user, therapist):
    admin = make_user(Role.ADMIN)
    a = app.test_client()
    a.post("/sign-in", data={"email": admin.email, "password": PASSWORD})
    settings = a.get("/admin/settings")
    assert "must use two-step sign-in" in page_text(settings)
    a.post(
        "/admin/settings",
        data={"crisis_contacts": "Call 999", "clients_see_scores": "y", "mfa_required": "y"},
    )
    db.expire_all()
    assert db.scalars(sa.select(Practice)).one().mfa_required
    # The admin, already signed in, is held at the set-up from the next request on.
    assert a.get("/admin/").headers["Location"] == "/account/two-step"
    t = app.test_client()
    t.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    for url in ("/therapist/", "/account", "/account/password"):
        assert t.get(url).headers["Location"] == "/account/two-step", url
    held = t.get("/account/two-step")
    assert held.status_code == 200 and "requires two-step sign-in" in page_text(held)
    enrol(t, db, therapist)
    assert t.get("/therapist/").status_code == 200
    # Clients are not asked.
    client_user = make_user(Role.CLIENT, therapist=therapist)
    c = app.test_client()
    c.post("/sign-in", data={"email": client_user.email, "password": PASSWORD})
    assert c.get("/me/").status_code == 200


def test_turning_it_off_needs_a_fresh_sign_in(app, client, db, sign_in, therapist):
    sign_in(therapist)
    secret, _ = enrol(client, db, therapist)
    with client.session_transaction() as s:
        s["fresh_at"] -= 11 * 60
    off = client.post(
        "/account/two-step/off", headers={"Referer": "http://localhost/account/two-step"}
    )
    assert off.headers["Location"] == "/account/confirm?next=/account/two-step"
    assert fresh_user(db, therapist).mfa_enabled
    page = client.get(off.headers["Location"])
    html = soup(page)
    assert html.find(id="password") and html.find(id="code")  # the code too, as it is on
    no_code = client.post(
        "/account/confirm", data={"password": PASSWORD, "next": "/account/two-step"}
    )
    assert no_code.status_code == 422 and "Enter the code" in page_text(no_code)
    ok = client.post(
        "/account/confirm",
        data={"password": PASSWORD, "code": pyotp.TOTP(secret).now(), "next": "/account/two-step"},
    )
    assert ok.headers["Location"] == "/account/two-step"
    assert client.post("/account/two-step/off").headers["Location"] == "/account/two-step"
    user = fresh_user(db, therapist)
    assert not user.mfa_enabled and user.totp_secret is None
    assert db.scalar(sa.select(sa.func.count()).select_from(RecoveryCode)) == 0


def test_an_admin_can_reset_a_colleagues_two_step_sign_in_and_it_is_audited(
    app, db, make_user, therapist
):
    t = app.test_client()
    t.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    enrol(t, db, therapist)
    admin = make_user(Role.ADMIN)
    a = app.test_client()
    a.post("/sign-in", data={"email": admin.email, "password": PASSWORD})
    people = page_text(a.get("/admin/"))
    assert "two-step sign-in on" in people
    response = a.post(f"/admin/people/{therapist.id}/two-step/reset")
    assert response.headers["Location"] == "/admin/"
    assert not fresh_user(db, therapist).mfa_enabled
    assert t.get("/therapist/").headers["Location"].startswith("/sign-in")  # signed out
    event = db.scalars(sa.select(AuditEvent).where(AuditEvent.object_type == "account_mfa")).all()[
        -1
    ]
    assert (event.user_id, event.object_id, event.action) == (admin.id, therapist.id, "change")
    # Now the password alone signs them in.
    t.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    assert t.get("/therapist/").status_code == 200


def test_a_password_reset_link_does_not_skip_the_code(app, db, make_user, therapist):
    t = app.test_client()
    t.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    secret, _ = enrol(t, db, therapist)
    # without email, a reset link for an active colleague is made on the server
    printed = app.test_cli_runner().invoke(args=["reset-link", therapist.email]).output
    path = re.search(r"(/invitation/\S+)", printed).group(1)
    someone = app.test_client()
    done = someone.post(
        path, data={"password": "a fresh start today", "confirm": "a fresh start today"}
    )
    assert done.headers["Location"] == "/sign-in/code"
    assert someone.get("/therapist/").headers["Location"].startswith("/sign-in")
    ok = someone.post("/sign-in/code", data={"code": pyotp.TOTP(secret).now()})
    assert ok.headers["Location"] == "/therapist/"


def test_two_requests_racing_with_one_code_cannot_both_use_it(app, db, sign_in, therapist):
    """Both requests read the account before either writes (as two workers would): the
    conditional update lets exactly one of them accept the code."""
    from clinic import mfa

    c = app.test_client()
    c.post("/sign-in", data={"email": therapist.email, "password": PASSWORD})
    secret, _ = enrol(c, db, therapist)
    code = pyotp.TOTP(secret).at(time.time() + 30)  # a step not used by the set-up
    factory = app.extensions["clinic.db"]
    first, second = factory(), factory()
    try:
        one, two = first.get(User, therapist.id), second.get(User, therapist.id)
        second.commit()  # keeps what it read (as a request that read before the other wrote)
        assert one.totp_last_step == two.totp_last_step  # both saw the same state
        assert mfa.verify_totp(one, code)
        first.commit()
        assert not mfa.verify_totp(two, code)
    finally:
        first.close()
        second.close()
