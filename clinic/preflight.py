"""The checks behind `flask --app clinic doctor`: is this deployment ready to serve? Each check
gives one row, green (ok), red (fail) or grey (skip: not used here), with what to do about a
red one. Nothing here changes anything; every network check has a short timeout.

Not checked: ProxyFix (the app does not apply one; a deployment that wants client addresses sets it up)."""

from __future__ import annotations

import re
import shutil
import smtplib
import ssl
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from . import crypto, keycheck, mail, schema

OK, FAIL, SKIP = "ok", "fail", "skip"
TIMEOUT_SECONDS = 5.0
# Placeholders that turn up in example configs: a key anyone can read signs no session.
WEAK_SECRETS = frozenset({"dev", "development", "secret", "changeme", "change-me", "test"})


@dataclass(frozen=True)
class Check:
    """One row of the report."""

    name: str
    status: str
    detail: str


# Rows that may be left out (`doctor --skip ...`): what a web server can serve without. The web
# unit's start check leaves them out, so that a mail server that is down for a while or a
# pg_dump older than the server does not keep the web app from (re)starting.
OPTIONAL = {"email": "Email (SMTP)", "backup-tool": "Backup tool"}


def run_all(
    config: Mapping[str, Any],
    instance_path: Path,
    engine: sa.Engine,
    skip: frozenset[str] = frozenset(),
) -> list[Check]:
    """Every check, in the order an operator would fix them; `skip` names OPTIONAL rows to
    leave out (shown grey)."""
    skipped = {
        OPTIONAL[key]: Check(OPTIONAL[key], SKIP, f"not checked (--skip {key})") for key in skip
    }
    reachable = database(engine)
    rows = [reachable]
    if reachable.status == OK:
        rows += [schema_state(engine), encryption_keys(engine, config)]
    else:
        rows += [
            Check("Schema", SKIP, "the database cannot be reached"),
            Check("Encryption keys", SKIP, "the database cannot be reached"),
        ]
    rows += [
        secret_key(config),
        skipped.get("Email (SMTP)") or smtp(config),
        rate_limit_storage(config),
        https_and_proxy(config),
        skipped.get("Backup tool")
        or (
            backup_tool(engine)
            if reachable.status == OK
            else Check("Backup tool", SKIP, "the database cannot be reached")
        ),
        instance_folder(instance_path, engine),
    ]
    return rows


def _reason(error: BaseException) -> str:
    orig = getattr(error, "orig", None) or error
    text = str(orig).strip().splitlines()
    return text[0] if text else type(orig).__name__


def database(engine: sa.Engine) -> Check:
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
            version = ".".join(str(p) for p in (conn.dialect.server_version_info or ())[:2])
    except (sa.exc.SQLAlchemyError, OSError) as error:
        return Check("Database", FAIL, f"cannot connect: {_reason(error)}")
    return Check("Database", OK, f"reachable ({engine.dialect.name} {version})".replace(" )", ")"))


def schema_state(engine: sa.Engine) -> Check:
    found = schema.state(engine)
    expected = ", ".join(sorted(found.expected))
    if found.at_head:
        return Check("Schema", OK, f"at the newest revision ({expected})")
    if found.empty:
        return Check("Schema", FAIL, "no tables yet: run `flask --app clinic db upgrade`")
    current = ", ".join(sorted(found.current))
    return Check(
        "Schema",
        FAIL,
        f"at {current}, this code expects {expected}: run `flask --app clinic db upgrade` "
        "(or, if the database is newer, deploy the newer code)",
    )


def encryption_keys(engine: sa.Engine, config: Mapping[str, Any] | None = None) -> Check:
    """The keys encrypt and decrypt, decrypt one stored value of each encrypted table, and
    match the database's key check (and so every other host's keys)."""
    from . import models  # noqa: F401  (registers every table)
    from .db import Base, ClinicalJSON, ClinicalText

    try:
        crypto.decrypt(crypto.encrypt("preflight"))
    except crypto.ClinicalDataError as error:
        return Check("Encryption keys", FAIL, str(error))
    if not schema.state(engine).at_head:
        return Check("Encryption keys", SKIP, "loaded; stored text not tried before db upgrade")
    tried = 0
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if not isinstance(column.type, ClinicalText | ClinicalJSON):
                    continue
                raw = conn.scalar(
                    sa.select(sa.cast(column, sa.Text)).where(column.is_not(None)).limit(1)
                )
                if raw is None:
                    continue
                try:
                    crypto.decrypt(raw)
                except crypto.ClinicalDataError:
                    return Check(
                        "Encryption keys",
                        FAIL,
                        f"cannot decrypt stored text ({table.name}.{column.name}): these are not "
                        "the keys it was written with (CLINIC_ENCRYPTION_KEYS or "
                        "instance/encryption_keys)",
                    )
                tried += 1
    stored = (
        f"decrypt stored text ({tried} column(s) tried)"
        if tried
        else "loaded; no encrypted text stored yet to try them on"
    )
    with engine.connect() as conn:
        row = keycheck.recorded(conn)
    if row is None:
        return Check(
            "Encryption keys",
            FAIL,
            f"{stored}; no key check recorded: run `flask --app clinic db upgrade`",
        )
    checks = [keycheck.key_check(k) for k in crypto.loaded_keys()]
    secret = keycheck.secret_check(str((config or {}).get("SECRET_KEY") or ""))
    problem = keycheck.mismatch(row, secret, checks)
    if problem == "secret":
        return Check("Encryption keys", FAIL, "SECRET_KEY differs from the database's key check")
    if problem:
        return Check(
            "Encryption keys",
            FAIL,
            f"differ from the database's key check ({problem}): copy the keys of a host that works",
        )
    return Check("Encryption keys", OK, f"{stored}; match the database's key check")


def secret_key(config: Mapping[str, Any]) -> Check:
    key = str(config.get("SECRET_KEY") or "")
    if not key:
        return Check("Secret key", FAIL, "SECRET_KEY is empty")
    if key.strip().lower() in WEAK_SECRETS or len(key) < 32:
        return Check(
            "Secret key",
            FAIL,
            "SECRET_KEY is a placeholder or shorter than 32 characters: set CLINIC_SECRET_KEY to"
            " `python3 -c 'import secrets; print(secrets.token_hex(32))'`",
        )
    return Check("Secret key", OK, f"set ({len(key)} characters)")


def smtp(config: Mapping[str, Any]) -> Check:
    """Connect, STARTTLS or TLS as configured, and sign in if a user is set."""
    if not mail.configured(config):
        return Check("Email (SMTP)", SKIP, "not set up: links are shown on screen instead")
    settings = dict(config)
    settings["SMTP_TIMEOUT"] = min(float(config.get("SMTP_TIMEOUT") or TIMEOUT_SECONDS), 5.0)
    try:
        mailer = mail.Mailer(settings)
        mailer.check()
    except mail.MailError as error:
        return Check("Email (SMTP)", FAIL, str(error))
    except smtplib.SMTPAuthenticationError as error:
        return Check(
            "Email (SMTP)", FAIL, f"the server refused SMTP_USER/SMTP_PASSWORD ({error.smtp_code})"
        )
    except smtplib.SMTPNotSupportedError:
        return Check("Email (SMTP)", FAIL, "the server offers no STARTTLS: try SMTP_SECURITY=ssl")
    except ssl.SSLError as error:
        return Check("Email (SMTP)", FAIL, f"TLS failed: {error.reason or error}")
    except (smtplib.SMTPException, OSError) as error:
        return Check(
            "Email (SMTP)", FAIL, f"cannot reach {mailer.host}:{mailer.port}: {_reason(error)}"
        )
    how = {"starttls": "STARTTLS", "ssl": "TLS", "none": "no encryption"}[mailer.security]
    signed_in = f", signed in as {mailer.user}" if mailer.user else ", no sign-in configured"
    status = FAIL if mailer.security == "none" and mailer.host not in LOCAL_HOSTS else OK
    detail = f"{mailer.host}:{mailer.port} with {how}{signed_in}"
    if status == FAIL:
        detail += ": SMTP_SECURITY=none sends email in clear over the network"
    return Check("Email (SMTP)", status, detail)


LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def _redact(url: str) -> str:
    return re.sub(r"//([^:@/]*):[^@/]*@", r"//\1:***@", url)


def rate_limit_storage(config: Mapping[str, Any]) -> Check:
    uri = str(config.get("RATELIMIT_STORAGE_URI") or config.get("RATELIMIT_STORAGE_URL") or "")
    if not uri.startswith(("redis://", "rediss://")):
        return Check(
            "Redis",
            SKIP,
            "sign-in counters kept in memory: right for one worker; with several, set "
            "CLINIC_RATELIMIT_STORAGE_URL=redis://...",
        )
    import redis

    try:
        client = redis.Redis.from_url(
            uri, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        client.ping()
        client.close()
    except (redis.RedisError, OSError) as error:
        return Check("Redis", FAIL, f"{_redact(uri)} does not answer: {_reason(error)}")
    return Check("Redis", OK, f"{_redact(uri)} answers")


def https_and_proxy(config: Mapping[str, Any]) -> Check:
    """BASE_URL (links in emails) and the cookie settings agree on HTTPS."""
    secure = bool(config.get("SESSION_COOKIE_SECURE"))
    if not config.get("BASE_URL"):
        if mail.configured(config):
            return Check(
                "HTTPS and proxy",
                FAIL,
                "email is set up but BASE_URL is not: emails cannot link to Bedrock",
            )
        return Check(
            "HTTPS and proxy",
            OK if secure else SKIP,
            "secure cookies on; BASE_URL not set"
            if secure
            else "BASE_URL not set and cookies "
            "not Secure: fine for a demo on http://127.0.0.1, not behind a proxy",
        )
    try:
        url = mail.base_url(config)
    except mail.MailError as error:
        return Check("HTTPS and proxy", FAIL, str(error))
    if url.startswith("https://") and not secure:
        return Check(
            "HTTPS and proxy",
            FAIL,
            f"BASE_URL is {url} but cookies are not Secure: set CLINIC_SESSION_COOKIE_SECURE=true",
        )
    if url.startswith("http://") and secure:
        return Check(
            "HTTPS and proxy",
            FAIL,
            f"cookies are Secure but BASE_URL is {url}: browsers will not send them over HTTP",
        )
    return Check(
        "HTTPS and proxy", OK, f"BASE_URL {url}, Secure cookies {'on' if secure else 'off'}"
    )


def backup_tool(engine: sa.Engine) -> Check:
    """pg_dump must be at least as new as the server (it refuses to dump a newer one)."""
    if engine.dialect.name != "postgresql":
        return Check("Backup tool", SKIP, f"{engine.dialect.name}: backups use its own API")
    found = shutil.which("pg_dump")
    if found is None:
        return Check(
            "Backup tool", FAIL, "pg_dump is not installed (apt-get install postgresql-client)"
        )
    try:
        out = subprocess.run(
            [found, "--version"],
            capture_output=True,
            text=True,
            timeout=TIMEOUT_SECONDS,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as error:
        return Check("Backup tool", FAIL, f"pg_dump --version failed: {_reason(error)}")
    match = re.search(r"(\d+)(?:\.(\d+))?", out)
    with engine.connect() as conn:
        server_num = int(conn.execute(sa.text("SHOW server_version_num")).scalar_one())
    server_major = server_num // 10000
    if match is None:
        return Check("Backup tool", FAIL, f"cannot read pg_dump's version from {out.strip()!r}")
    tool_major = int(match.group(1))
    detail = f"pg_dump {match.group(0)}, server {server_major}.{server_num % 10000}"
    if tool_major < server_major:
        return Check(
            "Backup tool",
            FAIL,
            f"{detail}: pg_dump is older than the server and will refuse to back it up; "
            f"install postgresql-client-{server_major}",
        )
    return Check("Backup tool", OK, detail)


def instance_folder(instance_path: Path, engine: sa.Engine) -> Check:
    """The folder that holds the keys (and the SQLite file) is not open to other users."""
    if not instance_path.is_dir():
        return Check("Instance folder", FAIL, f"{instance_path} does not exist")
    problems = []
    mode = instance_path.stat().st_mode & 0o777
    if mode & 0o007:
        problems.append(f"{instance_path} is mode {mode:o}, open to every user: chmod 700 it")
    files = [instance_path / "secret_key", instance_path / "encryption_keys"]
    if engine.dialect.name == "sqlite" and engine.url.database:
        files.append(Path(engine.url.database))
    for path in files:
        if path.exists() and path.stat().st_mode & 0o077:
            problems.append(f"{path.name} is mode {path.stat().st_mode & 0o777:o}: chmod 600 it")
    # A wheel install's default, <venv>/var/clinic-instance: rebuilding the venv deletes it.
    venv = Path(sys.prefix).resolve()
    kept = [p.name for p in files if p.exists() and p.resolve().is_relative_to(venv)]
    if kept:
        problems.append(
            f"{', '.join(kept)} inside the Python environment {venv}: rebuilding it would "
            "delete them. Move them to a folder outside it and set CLINIC_INSTANCE_PATH there"
        )
    if problems:
        return Check("Instance folder", FAIL, "; ".join(problems))
    return Check("Instance folder", OK, f"{instance_path} (mode {mode:o})")
