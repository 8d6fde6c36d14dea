"""Bedrock: a therapist-facing CBT progress tracker for trust-focused therapy."""

from __future__ import annotations

import contextlib
import gc
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import click
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from .errors import SetupError

PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Find a top-level resource folder (templates, migrations) in a wheel or a source tree."""
    inside = PACKAGE_DIR / name  # a built wheel carries it inside the package
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


DEFAULTS: dict[str, Any] = {
    "DATABASE_URL": None,  # None means the SQLite file in the instance folder
    "SQLITE_BUSY_TIMEOUT_MS": 5000,
    "INVITATION_DAYS": 7,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "WTF_CSRF_TIME_LIMIT": None,  # the token lives as long as the session that holds it
    # Secure cookies need HTTPS; set CLINIC_SESSION_COOKIE_SECURE=true behind TLS (production).
    "SESSION_COOKIE_SECURE": False,
    "REMEMBER_COOKIE_SECURE": False,
    # The largest request accepted (a long worksheet is well under 100 KB).
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    # Sessions end after this long without a request, and this long after signing in.
    "SESSION_IDLE_MINUTES": 30,
    "SESSION_MAX_HOURS": 12,
    # Changing a password, email or two-step sign-in, and bulk exports, need a sign-in (or a
    # "confirm it's you") within this many minutes.
    "FRESH_SIGN_IN_MINUTES": 10,
    # How long the code page waits after a correct password before starting again.
    "MFA_PENDING_MINUTES": 5,
    # Where the per-address sign-in counters live: None keeps them in this process's memory
    # (one worker); redis://host:6379/0 shares them between every worker and host.
    "RATELIMIT_STORAGE_URL": None,
    # How many reverse proxies in front of the app may be believed about X-Forwarded-For,
    # -Proto, -Host and -Port. 0: the headers are ignored, the address is the socket's peer.
    "TRUSTED_PROXIES": 0,
}


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the application: config layers, one init_app per module, blueprints.

    A setup that cannot work (keys or secret not the database's, Redis unreachable, a bad
    setting) raises SetupError; under a `flask` command it becomes the command's error message
    (click prints "Error: ..." and exits 1) instead of a traceback."""
    try:
        return _create_app(test_config)
    except SetupError as error:
        if click.get_current_context(silent=True) is not None:
            raise click.ClickException(str(error)) from None
        raise


def _create_app(test_config: Mapping[str, Any] | None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("CLINIC_INSTANCE_PATH") or None,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
    )
    # Configuration layers, later ones win: defaults, instance/config.py, CLINIC_* environment,
    # then the mapping a test passes in.
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("CLINIC")
    if test_config is not None:
        app.config.from_mapping(test_config)

    if app.config["SESSION_COOKIE_SECURE"]:
        secure_cookie_names(app)
    trust_proxies(app)

    # Keys and the SQLite file live here: only the app's user may look in (`doctor` checks).
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'clinic.sqlite3'}"

    from . import (
        admin,
        auth,
        cli,
        client,
        db,
        health,
        keycheck,
        library,
        logs,
        measures,
        therapist,
        throttle,
        web,
    )
    from .web import gates

    db.init_app(app)
    # SECRET_KEY and the encryption keys, checked against the database's key-check row.
    keycheck.init_app(app, instance_secret)
    library.init_app(app)
    measures.init_app(app)
    web.init_app(app)
    gates.init_app(app)
    throttle.init_app(app)
    cli.init_app(app)

    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(therapist.bp)
    app.register_blueprint(client.bp)
    app.register_blueprint(health.bp)
    logs.init_app(app)  # after the blueprints: it learns which routes carry a token
    warn_if_instance_in_venv(app)
    return app


def warm() -> None:
    """Load now what the first chart or PDF would load later: ReportLab, the report modules
    and the embedded fonts (about 0.3 s and 35 MB). Nothing calls it at import; gunicorn's
    master calls it once before forking (deploy/gunicorn.conf.py), so that every worker shares
    one copy instead of each loading its own on its first record page or PDF."""
    from . import pdf
    from .reports import progress_report, session_summary  # noqa: F401

    pdf.fonts()


# A page builds tens of thousands of objects that live until its response is sent (a
# caseload of 1,500 clients about 300,000): with Python's default thresholds (a young
# collection every 700 allocations) the collector ran hundreds of times per page, each
# time walking everything the page had built so far; at 1,500 clients that was a third of
# the page's time. Cycles are rare in a request, so collecting seldom costs little memory.
GC_THRESHOLDS = (50_000, 20, 100)


def settle_heap() -> None:
    """For a long-lived server process once it has loaded everything (gunicorn's master before
    forking): collect once, move every object into the collector's permanent generation (it
    is never scanned again, and so never copied into a worker by the scan), and collect the
    young generation seldom (GC_THRESHOLDS)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def warn_if_instance_in_venv(app: Flask) -> None:
    """A wheel install puts the instance folder in <venv>/var/clinic-instance: rebuilding the
    venv would delete the keys, and with them every encrypted text."""
    if Path(app.instance_path).resolve().is_relative_to(Path(sys.prefix).resolve()):
        app.logger.warning(
            "The instance folder %s (secret key, encryption keys) is inside the Python "
            "environment %s: rebuilding it would delete the keys. Set CLINIC_INSTANCE_PATH "
            "to a folder outside it and move the files there.",
            app.instance_path,
            sys.prefix,
        )


def secure_cookie_names(app: Flask) -> None:
    """Behind HTTPS the cookies carry the __Host- prefix: browsers then accept them only if
    they are Secure, for Path=/ and without a Domain, so that no other host under the same
    domain (and no plain-HTTP page) can set or overwrite them (RFC 6265bis 4.1.3.2)."""
    app.config.update(
        SESSION_COOKIE_NAME="__Host-session",
        SESSION_COOKIE_PATH="/",
        SESSION_COOKIE_DOMAIN=None,
        REMEMBER_COOKIE_NAME="__Host-remember_token",
        REMEMBER_COOKIE_SECURE=True,
        REMEMBER_COOKIE_PATH="/",
        REMEMBER_COOKIE_DOMAIN=None,
    )


def trust_proxies(app: Flask) -> None:
    """Behind N reverse proxies, take the client's address, scheme, host and port from what the
    last N of them added to the X-Forwarded-* headers (Werkzeug's ProxyFix); anything further
    left was written by the client and is not believed. Without proxies, the headers are
    ignored: anyone can send them."""
    count = app.config["TRUSTED_PROXIES"]
    if type(count) is not int or count < 0:
        raise SetupError(
            f"CLINIC_TRUSTED_PROXIES must be a whole number of reverse proxies (0 or more), "
            f"not {count!r}"
        )
    if count:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=count, x_proto=count, x_host=count, x_port=count
        )


def instance_secret(path: Path, generate: Callable[[], str]) -> str:
    """Read a secret kept in the instance folder, creating it (mode 0600) on first start."""
    if not path.exists():
        # Write a complete file under a temporary name, then link it into place: link() fails
        # if another worker got there first, and nobody ever reads a half-written secret.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:  # mkstemp creates it as 0600
                fh.write(generate() + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        finally:
            os.unlink(tmp)
    value = path.read_text(encoding="ascii").strip()
    if len(value) < 32:
        raise RuntimeError(f"{path} is too short to be a secret; delete it to regenerate")
    return value
