"""The password policy (NIST SP 800-63B 5.1.1.2) and Argon2id hashing."""

from __future__ import annotations

import pytest

from clinic import accounts


@pytest.mark.parametrize(
    "password",
    [
        "twelve chars",
        "ünïcödé wörds",
        "🌊🌊🌊🌊🌊🌊🌊🌊🌊🌊🌊🌊",
        "a" * 128,
        "all lowercase no digits",
    ],
)
def test_acceptable_passwords(password):
    assert accounts.password_problem(password) is None


@pytest.mark.parametrize(
    ("password", "fragment"),
    [
        ("eleven char", "at least 12"),
        ("", "at least 12"),
        ("a" * 129, "at most 128"),
        ("1q2w3e4r5t6y", "most commonly used"),
        ("Qwerty123456", "most commonly used"),
    ],
)
def test_refused_passwords(password, fragment):
    assert fragment in (accounts.password_problem(password) or "")


def test_the_common_password_list_has_ten_thousand_entries():
    words = accounts.common_passwords()
    assert 9_900 <= len(words) <= 10_000  # a few collapse when case-folded
    assert "password" in words and "123456" in words


def test_hashes_are_argon2id_and_verify():
    hashed = accounts.hash_password("a calm harbour at dawn")
    assert hashed.startswith("$argon2id$")
    user = accounts.User(password_hash=hashed)
    assert accounts.check_password(user, "a calm harbour at dawn")
    assert not accounts.check_password(user, "a calm harbour at dusk")
    assert not accounts.check_password(None, "a calm harbour at dawn")


def test_unicode_forms_of_the_same_password_match():
    # NFC "é" and NFD "e + combining acute" are the same password to a person.
    user = accounts.User(password_hash=accounts.hash_password("caf\u00e9 au lait du matin"))
    assert accounts.check_password(user, "cafe\u0301 au lait du matin")


def test_hashes_use_owasps_argon2id_profile_and_older_ones_are_upgraded_at_sign_in(
    monkeypatch, make_user
):
    from argon2 import PasswordHasher

    # The real hasher (the test suite otherwise uses the cheapest settings).
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(**accounts.HASH_PARAMETERS))
    assert accounts.hash_password("a calm harbour at dawn").startswith(
        "$argon2id$v=19$m=19456,t=2,p=1$"
    )
    user = make_user(password=None)
    user.password_hash = PasswordHasher().hash("a calm harbour at dawn")  # 64 MiB, t=3
    assert accounts.check_password(user, "a calm harbour at dawn")
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert accounts.check_password(user, "a calm harbour at dawn")
    assert not accounts.check_password(user, "a calm harbour at dusk")
