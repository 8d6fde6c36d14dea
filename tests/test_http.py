"""HTTP protections: security headers, CSRF on every state-changing route, size limits and
error pages that say nothing about the inside."""

from __future__ import annotations

import pytest

from clinic.models import Role

from .conftest import PASSWORD
from .test_access import _rules


def test_security_headers_on_every_page(client, make_user):
    response = client.get("/sign-in")
    csp = response.headers["Content-Security-Policy"]
    for directive in (
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "form-action 'self'",
        "script-src 'self'",
    ):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"


def test_hsts_is_sent_over_https(client):
    response = client.get("/sign-in", base_url="https://bedrock.example")
    assert "max-age=31536000" in response.headers["Strict-Transport-Security"]


def test_authenticated_pages_and_downloads_are_not_cached(client, make_user, sign_in):
    sign_in(make_user(Role.ADMIN))
    for url in ("/admin/", "/admin/audit.csv"):
        assert client.get(url).headers["Cache-Control"] == "no-store"
    static = client.get("/static/app.css")
    assert static.headers.get("Cache-Control") != "no-store"
    static.close()


# The one-click unsubscribe link of reminder emails is posted by mail programs (RFC 8058),
# which cannot send a form token: the signed token in its URL is the proof instead.
CSRF_EXEMPT = {"auth.reminders_off"}
POST_ROUTES = sorted({(e, r.rule) for e, m, r in _rules() if m == "POST" and e not in CSRF_EXEMPT})


def test_the_csrf_exempt_unsubscribe_link_needs_a_genuine_signed_token(app, make_user, db):
    app.config["WTF_CSRF_ENABLED"] = True
    client_user = make_user(Role.CLIENT)
    response = app.test_client().post("/reminders/off/WzEsImFiYyJd.forged")
    assert response.status_code == 404
    db.expire_all()
    assert db.get(type(client_user), client_user.id).reminders_wanted is True


@pytest.mark.parametrize(("endpoint", "rule"), POST_ROUTES)
def test_every_post_route_refuses_a_request_without_a_csrf_token(app, make_user, endpoint, rule):
    app.config["WTF_CSRF_ENABLED"] = True
    user = make_user(Role.THERAPIST)
    c = app.test_client()
    url = (
        rule.replace("<int:client_id>", "1")
        .replace("<int:assignment_id>", "1")
        .replace("<int:user_id>", "1")
        .replace("<int:note_id>", "1")
        .replace("<int:goal_id>", "1")
        .replace("<int:revision_id>", "1")
        .replace("<int:alert_id>", "1")
        .replace("<int:administration_id>", "1")
        .replace("<int:week>", "1")
        .replace("<code>", "phq9")
        .replace("<token>", "x")
        .replace("<any(pause, resume):change>", "pause")
        .replace("<any(remove, restore):change>", "remove")
        .replace("<any(on, off):change>", "off")
        .replace("<int:notification_id>", "1")
        .replace("<int:goal_id>", "1")
        .replace("<int:signal_id>", "1")
    )
    response = c.post(url, data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400, url
    assert "This form has expired" in response.get_data(as_text=True)


def test_oversized_requests_are_refused_with_a_plain_page(client):
    response = client.post(
        "/sign-in", data={"email": "x@example.org", "password": "p" * (2 * 1024 * 1024)}
    )
    assert response.status_code == 413
    assert "too much to send at once" in response.get_data(as_text=True)


def test_a_server_error_shows_a_generic_page_without_a_traceback(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/_boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/_boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert "secret internal detail" not in body and "Traceback" not in body
