"""Encryption at rest for the free text people write about their lives (worksheet answers,
notes, feedback, check-in and alert notes). Fernet (AES-128-CBC with HMAC-SHA256, from
cryptography) through MultiFernet, so keys can be rotated: the first key encrypts, every key
decrypts. Keys come from the environment or the instance folder, never from the database.
Scores, dates and states stay in plain columns so they can be queried."""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import Flask

_keys: MultiFernet | None = None
_raw_keys: list[bytes] = []


class ClinicalDataError(Exception):
    """A stored value could not be decrypted (a wrong key, or the value was tampered with)."""


def parse_keys(text: str) -> list[bytes]:
    """Keys from text: comma- or line-separated, newest first; blank lines ignored."""
    keys = [k.strip().encode() for k in text.replace(",", "\n").splitlines() if k.strip()]
    for key in keys:
        Fernet(key)  # raises ValueError for anything that is not a Fernet key
    return keys


def init_app(app: Flask, instance_secret) -> None:
    """Install the app's keys: CLINIC_ENCRYPTION_KEYS, else instance/encryption_keys
    (created with one new key, mode 0600, on first start)."""
    configured = app.config.get("ENCRYPTION_KEYS")
    if configured:
        text = ",".join(configured) if isinstance(configured, list | tuple) else str(configured)
    else:
        path = Path(app.instance_path) / "encryption_keys"
        text = instance_secret(path, lambda: Fernet.generate_key().decode())
    use_keys(parse_keys(text))


def use_keys(keys: list[bytes]) -> None:
    """Encrypt with keys[0]; decrypt with any of them."""
    global _keys, _raw_keys
    if not keys:
        raise ValueError("At least one encryption key is needed.")
    _keys = MultiFernet([Fernet(k) for k in keys])
    _raw_keys = list(keys)


def loaded_keys() -> list[bytes]:
    """The keys in use, the one that encrypts first (for clinic.keycheck)."""
    return list(_raw_keys)


def _active() -> MultiFernet:
    if _keys is None:
        raise ClinicalDataError("No encryption keys are loaded (create the app first).")
    return _keys


def encrypt(text: str) -> str:
    """A token for the text (different every time, even for the same text)."""
    return _active().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The text behind a token; a wrong key or any tampering is an error, never wrong text."""
    try:
        return _active().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError) as error:
        raise ClinicalDataError(
            "A stored clinical value could not be decrypted: the encryption keys do not match "
            "or the value was altered."
        ) from error


def written_with_first_key(token: str) -> bool:
    """Whether the first (encrypting) key alone reads the token: re-encryption skips it."""
    if not _raw_keys:
        raise ClinicalDataError("No encryption keys are loaded (create the app first).")
    try:
        Fernet(_raw_keys[0]).decrypt(token.encode("ascii"))
    except (InvalidToken, ValueError):
        return False
    return True


def rotate(token: str) -> str:
    """The same text re-encrypted with the newest key."""
    try:
        return _active().rotate(token.encode("ascii")).decode("ascii")
    except InvalidToken as error:
        raise ClinicalDataError("A stored clinical value could not be decrypted.") from error
