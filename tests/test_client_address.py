"""The client's address: the socket's peer unless CLINIC_TRUSTED_PROXIES says how many
reverse proxies in front of the app may be believed about X-Forwarded-For/-Proto/-Host/-Port.
The audit log and the per-address sign-in limit both read it."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from clinic import create_app
from clinic.models import AuditEvent, Role

from .test_auth import page_text

PROXY = "10.0.0.2"  # the reverse proxy: every request reaches the app from here


@pytest.fixture
def one_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The deployment says one proxy is in front (asked for before `app`, which reads it)."""
    monkeypatch.setenv("CLINIC_TRUSTED_PROXIES", "1")


def guess(client, email: str, forwarded_for: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(
        "/sign-in",
        data={"email": email, "password": "wrong password here"},
        headers={"X-Forwarded-For": forwarded_for, **headers},
        environ_base={"REMOTE_ADDR": PROXY},
    )


def logged_addresses(db) -> list[str | None]:  # type: ignore[no-untyped-def]
    db.expire_all()
    query = sa.select(AuditEvent.ip).where(AuditEvent.action == "sign_in_failed")
    return list(db.scalars(query.order_by(AuditEvent.id)))


def test_without_trusted_proxies_forwarded_headers_are_ignored(app, client, db, make_user):
    assert app.config["TRUSTED_PROXIES"] == 0
    person = make_user(Role.THERAPIST)
    assert guess(client, person.email, "203.0.113.9").status_code == 422
    # Anyone can send the header: the audit log keeps the address the request came from.
    assert logged_addresses(db) == [PROXY]
    # A script that makes up a new address for each guess still meets the per-address limit.
    for i in range(19):
        assert guess(client, f"guess{i}@example.org", f"203.0.113.{i + 10}").status_code == 422
    refused = guess(client, "one-more@example.org", "198.51.100.200")
    assert refused.status_code == 429 and "Too many attempts" in page_text(refused)


def test_one_trusted_proxy_gives_the_forwarded_address(one_proxy, app, client, db, make_user):
    assert app.config["TRUSTED_PROXIES"] == 1
    person = make_user(Role.THERAPIST)
    # A client may send its own X-Forwarded-For; the proxy appends the address it saw, and
    # only that last one (one proxy's worth) is believed.
    assert guess(client, person.email, "6.6.6.6, 203.0.113.9").status_code == 422
    assert logged_addresses(db) == ["203.0.113.9"]
    # The per-address limit counts each client behind the proxy separately.
    for i in range(19):
        assert guess(client, f"guess{i}@example.org", "203.0.113.9").status_code == 422
    assert guess(client, "one-more@example.org", "203.0.113.9").status_code == 429
    assert guess(client, "one-more@example.org", "192.0.2.44").status_code == 422


@pytest.mark.parametrize("value", ["-1", "yes", "1.5", "true"])
def test_a_wrong_trusted_proxies_setting_stops_the_start(value, monkeypatch, tmp_path):
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("CLINIC_TRUSTED_PROXIES", value)
    with pytest.raises(RuntimeError, match="CLINIC_TRUSTED_PROXIES"):
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": "x" * 40})
