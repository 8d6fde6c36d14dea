"""Throttling of sign-in guessing, per account in the database and per IP address."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import re
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from clinic import throttle
from clinic.models import Role

from .conftest import PASSWORD
from .test_auth import page_text


def attempt(client, email: str, password: str = "wrong password here", ip: str = "198.51.100.1"):  # type: ignore[no-untyped-def]
    return client.post(
        "/sign-in", data={"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip}
    )


class Clock:
    """The throttle's clock, moved by hand."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = dt.datetime.now(dt.UTC)
        monkeypatch.setattr(throttle, "utcnow", lambda: self.now)

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):  # type: ignore[no-untyped-def]
    return Clock(monkeypatch)


def wait_asked(response) -> int:  # type: ignore[no-untyped-def]
    """The minutes a refused sign-in asks the person to wait."""
    assert response.status_code == 429, response.status_code
    found = re.search(r"Please wait (\d+) minutes?", page_text(response))
    assert found, page_text(response)
    return int(found.group(1))


def test_five_failures_lock_that_address_out_of_that_account_only(client, make_user):
    target = make_user(Role.THERAPIST)
    bystander = make_user(Role.THERAPIST)
    for _ in range(5):
        assert attempt(client, target.email, ip="198.51.100.7").status_code == 422
    locked = attempt(client, target.email, PASSWORD, ip="198.51.100.7")  # even the right password
    assert wait_asked(locked) == 1
    assert client.get("/therapist/").status_code == 302  # not signed in
    ok = attempt(client, bystander.email, PASSWORD, ip="198.51.100.7")
    assert ok.status_code == 302  # other accounts are untouched


def test_failures_from_one_address_do_not_lock_the_person_out_from_another(client, make_user):
    person = make_user(Role.THERAPIST)
    for _ in range(15):  # an attacker keeps trying from A, locked after the fifth
        attempt(client, person.email, ip="203.0.113.66")
    assert attempt(client, person.email, ip="203.0.113.66").status_code == 429
    # The rightful person, at home (B), signs in at once.
    assert attempt(client, person.email, PASSWORD, ip="192.0.2.10").status_code == 302


def test_an_address_lock_grows_to_fifteen_minutes_and_then_ends(client, make_user, clock):
    person = make_user(Role.CLIENT)
    waits = []
    for _ in range(5):
        attempt(client, person.email, ip="203.0.113.66")
    for _ in range(6):
        wait = wait_asked(attempt(client, person.email, PASSWORD, ip="203.0.113.66"))
        waits.append(wait)
        clock.advance(minutes=wait - 1, seconds=59)
        assert attempt(client, person.email, PASSWORD, ip="203.0.113.66").status_code == 429
        clock.advance(seconds=2)
        assert attempt(client, person.email, ip="203.0.113.66").status_code == 422  # counted
        throttle.limiter.reset()  # the per-IP limit is not what this test is about
    assert waits == [1, 2, 4, 8, 15, 15]  # each further failure doubles the wait, to 15
    assert attempt(client, person.email, PASSWORD, ip="203.0.113.66").status_code == 429
    clock.advance(minutes=15, seconds=1)
    # The lock has ended: the right password from the same address works.
    assert attempt(client, person.email, PASSWORD, ip="203.0.113.66").status_code == 302


def test_failures_spread_over_many_addresses_lock_the_account_for_a_while(client, make_user, clock):
    person = make_user(Role.THERAPIST)
    ceiling = throttle.ACCOUNT_FREE_FAILURES
    assert ceiling > throttle.FREE_FAILURES
    for i in range(ceiling):  # never more than four from one address: no address is locked
        assert attempt(client, person.email, ip=f"198.51.100.{i // 4}").status_code == 422
    # A distributed attack slows down: a fresh address (C) waits too, even with the password.
    assert wait_asked(attempt(client, person.email, PASSWORD, ip="192.0.2.77")) == 1
    clock.advance(minutes=1, seconds=1)
    assert attempt(client, person.email, PASSWORD, ip="192.0.2.77").status_code == 302


def test_a_lock_is_forgotten_after_a_quiet_day(client, make_user, clock):
    person = make_user(Role.THERAPIST)
    for _ in range(9):
        attempt(client, person.email, ip="203.0.113.66")
        clock.advance(minutes=16)
    clock.advance(hours=24)
    for _ in range(4):  # counting starts again: four failures lock nothing
        assert attempt(client, person.email, ip="203.0.113.66").status_code == 422
    assert attempt(client, person.email, PASSWORD, ip="203.0.113.66").status_code == 302


@pytest.mark.parametrize("spread", [False, True], ids=["one address", "many addresses"])
def test_unknown_addresses_are_throttled_the_same_way(client, make_user, spread):
    real = make_user(Role.THERAPIST).email
    unknown = "nobody-here@example.org"
    tries = throttle.ACCOUNT_FREE_FAILURES + 1 if spread else throttle.FREE_FAILURES + 1
    answers = []
    for email in (real, unknown):
        throttle.limiter.reset()
        for i in range(tries):
            response = attempt(client, email, ip=f"198.51.100.{i // 4 if spread else 1}")
        answers.append(
            (response.status_code, page_text(response).split("There is a problem")[1][:80])
        )
    assert answers[0] == answers[1]  # nothing tells the two apart
    assert answers[0][0] == 429


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


REDIS_URL = "redis://127.0.0.1:6379/5"  # the tests' own Redis database, never 0


def _redis_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


needs_redis = pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")


@pytest.fixture
def dead_port() -> Iterator[int]:
    """A port on 127.0.0.1 where nothing listens (bound, never listening: connections are
    refused, and nobody else can take it meanwhile)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield s.getsockname()[1]


def _workers_guess(database_url: str, instance: Path, storage_url: str, prefix: str) -> list:  # type: ignore[type-arg]
    """Two worker processes, each with its own app, guess passwords at the same time from one
    address, 15 tries each; the (name, status codes or error) each reported."""
    from . import sign_in_worker
    from .conftest import give_keys

    give_keys(instance)  # the keys every worker of one installation shares
    config = {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "x" * 40,
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_STORAGE_URL": storage_url,
        "RATELIMIT_KEY_PREFIX": prefix,
    }
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters: nothing inherited
    start, out = spawn.Barrier(2), spawn.Queue()
    workers = [
        spawn.Process(
            target=sign_in_worker.guess,
            args=(config, str(instance), name, 15, "203.0.113.50", start, out),
        )
        for name in ("first", "second")
    ]
    for worker in workers:
        worker.start()
    try:
        return sorted(out.get(timeout=120) for _ in workers)
    finally:
        for worker in workers:
            worker.join(timeout=30)


@needs_redis
def test_worker_processes_share_the_ip_limit_through_redis(database_url, tmp_path):
    redis = pytest.importorskip("redis")
    prefix = f"test-{uuid.uuid4().hex}"
    store = redis.Redis.from_url(REDIS_URL)
    try:
        reports = _workers_guess(database_url, tmp_path / "instance", REDIS_URL, prefix)
        assert [report[0] for report in reports] == ["first", "second"]
        assert all(len(report) == 3 for report in reports), reports  # no worker failed
        # Each process counts in Redis (limits' RedisStorage), whose database 5 then holds the keys.
        assert {storage for _, storage, _ in reports} == {"RedisStorage"}
        codes = [code for _, _, answers in reports for code in answers]
        # One counter for both processes: 20 of the 30 guesses are answered, the rest refused
        # (each process alone would have answered all 15 of its own).
        assert (codes.count(422), codes.count(429)) == (20, 10), reports
        keys = [key.decode() for key in store.scan_iter(f"*{prefix}*")]
        assert keys and all("203.0.113.50" in key for key in keys), keys
    finally:
        for key in store.scan_iter(f"*{prefix}*"):
            store.delete(key)
        store.close()


def test_workers_refuse_to_start_when_the_shared_store_is_unreachable(
    database_url, tmp_path, dead_port
):
    url = f"redis://127.0.0.1:{dead_port}/5"
    reports = _workers_guess(database_url, tmp_path / "instance", url, "unused")
    assert [len(report) for report in reports] == [2, 2], reports  # neither worker started
    for _, error in reports:
        # No worker quietly counts on its own: each stops at start-up and says what to fix.
        assert "CLINIC_RATELIMIT_STORAGE_URL" in error and str(dead_port) in error, error


def test_without_a_configured_store_the_counters_are_in_memory(app):
    from limits.storage import MemoryStorage

    assert type(throttle.limiter.storage) is MemoryStorage


def test_code_guesses_from_one_address_do_not_lock_the_code_step_elsewhere(
    app, client, db, sign_in, make_user
):
    from .test_mfa import enrol

    person = make_user(Role.THERAPIST)
    sign_in(person)
    secret, _ = enrol(client, db, person)
    client.post("/sign-out")
    attacker, owner = app.test_client(), app.test_client()
    a, b = {"REMOTE_ADDR": "203.0.113.66"}, {"REMOTE_ADDR": "192.0.2.10"}
    for browser, where in ((attacker, a), (owner, b)):
        data = {"email": person.email, "password": PASSWORD}
        assert browser.post("/sign-in", data=data, environ_base=where).status_code == 302
    for _ in range(throttle.FREE_FAILURES):
        attacker.post("/sign-in/code", data={"code": "000000"}, environ_base=a)
    code = {"code": pyotp.TOTP(secret).now()}
    assert attacker.post("/sign-in/code", data=code, environ_base=a).status_code == 429
    assert owner.post("/sign-in/code", data=code, environ_base=b).status_code == 302
