"""The server log holds no personal data or secrets (issue #21, item 4): no name, email
address, free text, token or query string, whatever goes wrong, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from clinic import accounts, notifications
from clinic import db as database
from clinic.models import Practice, Role, User

NAME = "Zofia Kowalczyk-Ngata"
EMAIL = "zofia.secret-person@example.net"
FREE_TEXT = "I keep thinking about the argument with my sister"
TOKEN = "tOkEn-InViTaTiOn-0123456789abcdefghijKLMNOP"


def everything_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every captured record as a handler would write it, and everything the record holds
    (message, arguments, exception and its formatting, any extra attribute)."""
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(formatter.format(record))
        parts.append(repr(vars(record)))
        if record.exc_info:
            parts.append(formatter.formatException(record.exc_info))
    return "\n".join(parts)


def assert_nothing_personal(text: str, *secrets: str) -> None:
    for secret in (NAME, EMAIL, FREE_TEXT, TOKEN, *secrets):
        for variant in {secret, secret.lower(), secret.upper()}:
            assert variant not in text, f"{variant!r} reached the log"


@pytest.fixture
def log_everything(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    for name in ("sqlalchemy.engine", "sqlalchemy.pool", "werkzeug", "clinic"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@pytest.fixture
def logging_app(app):  # type: ignore[no-untyped-def]
    """The app as in production: unexpected errors are logged and answered with a 500 page
    instead of reaching the test. Two routes provoke real database errors with a client's name
    and an email among the statement's parameters."""
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def duplicate_email() -> str:
        db = database.session()
        practice = db.scalars(sa.select(Practice)).first()
        db.add(User(practice=practice, role="client", email=EMAIL, display_name=NAME))
        db.flush()  # the email is already taken: a unique-constraint violation
        return "stored"

    def broken_row() -> str:
        db = database.session()
        practice = db.scalars(sa.select(Practice)).first()
        # Upper case breaks CHECK (email = lower(email)); PostgreSQL's message then quotes the
        # failing row, with the name and the email.
        db.add(User(practice=practice, role="client", email=EMAIL.upper(), display_name=NAME))
        db.flush()
        return "stored"

    app.add_url_rule("/test/duplicate-email", view_func=duplicate_email, methods=["POST"])
    app.add_url_rule("/test/broken-row", view_func=broken_row, methods=["POST"])
    return app


@pytest.mark.parametrize("path", ["/test/duplicate-email", "/test/broken-row"])
def test_database_errors_reach_the_log_without_names_or_emails(
    logging_app, make_user, log_everything, path
):
    make_user(Role.CLIENT, name=NAME, email=EMAIL)
    log_everything.clear()  # what the test itself wrote while arranging is not the app's log
    response = logging_app.test_client().post(f"{path}?next=/{TOKEN}")
    assert response.status_code == 500
    logged = everything_logged(log_everything)
    assert_nothing_personal(logged)
    # What an operator needs is still there: where, which error, which statement.
    assert f"Exception on {path}" in logged
    assert "IntegrityError" in logged and "INSERT INTO user_account" in logged


def test_the_engine_hides_statement_parameters_from_its_errors(app, make_user, log_everything):
    make_user(Role.CLIENT, name="Someone Else", email=EMAIL)
    log_everything.clear()
    with (
        app.app_context(),
        database.engine().connect() as conn,
        pytest.raises(sa.exc.IntegrityError) as raised,
    ):
        conn.execute(
            sa.insert(User).values(
                practice_id=sa.select(Practice.id).scalar_subquery(),
                role="client",
                email=EMAIL,
                display_name=NAME,
                session_token=TOKEN,
            )
        )
    assert NAME not in str(raised.value) and TOKEN not in str(raised.value)
    assert "parameters hidden" in str(raised.value)
    assert_nothing_personal(everything_logged(log_everything))


def test_an_unexpected_error_on_a_token_link_logs_neither_the_token_nor_the_details(
    logging_app, log_everything, monkeypatch
):
    def fails(db, token):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"could not load {token} for {NAME} <{EMAIL}>: {FREE_TEXT}")

    monkeypatch.setattr(accounts, "usable_invitation", fails)
    client = logging_app.test_client()
    response = client.get(f"/invitation/{TOKEN}?again={TOKEN}")
    assert response.status_code == 500
    logged = everything_logged(log_everything)
    assert_nothing_personal(logged)
    assert "Exception on /invitation/" in logged and "RuntimeError" in logged


def test_a_route_that_fails_on_what_someone_typed_does_not_log_it(logging_app, log_everything):
    def parse() -> str:
        return str(int(FREE_TEXT))  # ValueError: invalid literal for int(): '<the text>'

    logging_app.add_url_rule("/test/parse", view_func=parse)
    assert logging_app.test_client().get("/test/parse").status_code == 500
    logged = everything_logged(log_everything)
    assert_nothing_personal(logged)
    assert "ValueError" in logged


@pytest.fixture
def served(logging_app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app behind werkzeug's real server (whose access log is the one that prints paths)."""
    server = make_server("127.0.0.1", 0, logging_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.port}"
    server.shutdown()
    thread.join()


def fetch(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_access_log_hides_tokens_in_links_and_query_strings(
    served, log_everything, make_user, logging_app
):
    client = make_user(Role.CLIENT, name=NAME, email=EMAIL)
    with logging_app.test_request_context():
        unsubscribe = notifications.unsubscribe_token(client)
    log_everything.clear()
    assert fetch(f"{served}/invitation/{TOKEN}") == 404
    assert fetch(f"{served}/reminders/off/{unsubscribe}") == 200
    assert fetch(f"{served}/sign-in?next=/client/&email={EMAIL}&t={TOKEN}") == 200
    logged = everything_logged(log_everything)
    assert_nothing_personal(logged, unsubscribe)
    access = [r.getMessage() for r in log_everything.records if r.name == "werkzeug"]
    assert len([line for line in access if "GET /" in line]) == 3, access
    assert any("/invitation/" in line and " 404 " in line for line in access), access


def test_gunicorn_style_access_lines_are_cleaned_too(app, log_everything):
    # gunicorn's access log formats a dict of atoms: the request line and the referrer.
    logging.getLogger("gunicorn.access").info(
        '%(h)s "%(r)s" %(s)s "%(f)s"',
        {
            "h": "203.0.113.9",
            "r": f"GET /reminders/off/{TOKEN} HTTP/1.1",
            "s": "200",
            "f": f"https://clinic.example/invitation/{TOKEN}?email={EMAIL}",
        },
    )
    logged = everything_logged(log_everything)
    assert_nothing_personal(logged)
    assert "GET /reminders/off/" in logged and "203.0.113.9" in logged
