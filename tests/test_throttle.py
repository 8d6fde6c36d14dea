"""Throttling of sign-in guessing, per account in the database and per IP address."""

from __future__ import annotations

import socket
import uuid

import pytest

from clinic import create_app
from clinic.models import Role

from .conftest import PASSWORD
from .test_auth import page_text


def attempt(client, email: str, password: str = "wrong password here", ip: str = "198.51.100.1"):  # type: ignore[no-untyped-def]
    return client.post(
        "/sign-in", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


def test_an_account_is_throttled_after_five_failures_without_locking_others(client, make_user):
    target = make_user(Role.THERAPIST)
    bystander = make_user(Role.THERAPIST)
    for i in range(5):
        assert attempt(client, target.email, ip=f"198.51.100.{i}").status_code == 422
    locked = attempt(client, target.email, PASSWORD, ip="198.51.100.9")  # even the right password
    assert locked.status_code == 429 and "Please wait 1 minute" in page_text(locked)
    assert client.get("/therapist/").status_code == 302  # not signed in
    ok = attempt(client, bystander.email, PASSWORD, ip="198.51.100.9")
    assert ok.status_code == 302  # other accounts are untouched


def test_unknown_addresses_are_throttled_the_same_way(client, make_user):
    real = make_user(Role.THERAPIST).email
    unknown = "nobody-here@example.org"
    answers = []
    for email in (real, unknown):
        for _ in range(6):
            response = attempt(client, email, ip=str(uuid.uuid4().int % 250))
        answers.append(
            (response.status_code, page_text(response).split("There is a problem")[1][:80])
        )
    assert answers[0] == answers[1]  # nothing tells the two apart


def test_a_correct_sign_in_clears_the_count(client, make_user):
    user = make_user(Role.CLIENT)
    for _ in range(4):
        attempt(client, user.email)
    assert attempt(client, user.email, PASSWORD).status_code == 302
    client.post("/sign-out")
    for _ in range(4):
        assert attempt(client, user.email).status_code == 422  # counting starts again


def test_one_ip_address_is_limited_across_accounts(client, make_user):
    for i in range(20):
        assert attempt(client, f"guess{i}@example.org", ip="203.0.113.5").status_code == 422
    response = attempt(client, "guess21@example.org", ip="203.0.113.5")
    assert response.status_code == 429 and "Too many attempts" in page_text(response)
    assert attempt(client, "guess22@example.org", ip="203.0.113.6").status_code == 422


def _redis_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
def test_workers_share_the_ip_limit_through_redis(database_url, tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "x" * 40,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URL": "redis://127.0.0.1:6379",
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
    }
    apps = [create_app(config), create_app(config)]
    first, second = (a.test_client() for a in apps)
    try:
        for i in range(10):
            attempt(first, f"a{i}@example.org", ip="203.0.113.50")
            attempt(second, f"b{i}@example.org", ip="203.0.113.50")
        # Two app instances, one counter: the 21st attempt from this address is refused.
        assert attempt(first, "c@example.org", ip="203.0.113.50").status_code == 429
    finally:
        for a in apps:
            a.extensions["clinic.db"].kw["bind"].dispose()
