"""Running Bedrock in production (issue #16, items 3 and 4): commands on a database without its
schema say to run `db upgrade`, `db upgrade` says what it ran, `doctor` checks a deployment,
/healthz and /readyz answer a load balancer, and log lines carry a request id."""

from __future__ import annotations

import json
import logging
import re

import pytest
import sqlalchemy as sa  # noqa: F401

from clinic import create_app
from clinic.models import Role

from .conftest import give_keys
from .test_migrations import empty_database_url  # noqa: F401  (a fixture)

HINT = "run `flask --app clinic db upgrade` first"


@pytest.fixture
def fresh_app(tmp_path, monkeypatch, empty_database_url):  # noqa: F811
    """A new instance folder and a database with nothing in it, as after installing."""
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "new-instance"))
    give_keys(tmp_path / "new-instance")  # keys are made up only for SQLite, not PostgreSQL
    app = create_app({"DATABASE_URL": empty_database_url})
    yield app
    app.extensions["clinic.db"].kw["bind"].dispose()


@pytest.mark.parametrize(
    "args",
    [
        ["create-admin", "--email", "office@example.org"],
        ["export-reports", "--therapist", "t@example.org", "--out", "{tmp}/reports"],
        ["send-notifications"],
        ["reset-link", "someone@example.org"],
        ["backup", "{tmp}/bedrock.backup"],
        ["encryption", "reencrypt"],
    ],
)
def test_commands_on_a_new_database_say_to_run_db_upgrade(fresh_app, args, tmp_path):
    result = fresh_app.test_cli_runner().invoke(args=[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 1, result.output
    assert HINT in result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a traceback
    assert not (tmp_path / "reports").exists() and not (tmp_path / "bedrock.backup").exists()


def test_db_upgrade_prints_what_it_ran_then_that_nothing_was_needed(fresh_app):
    runner = fresh_app.test_cli_runner()
    first = runner.invoke(args=["db", "upgrade"])
    assert first.exit_code == 0, first.output
    ran = re.findall(r"^Ran (\S+) -> ([^\s:]+)", first.output, re.MULTILINE)
    assert ran[0] == ("empty", "0001_accounts") and len(ran) >= 13
    assert ran[-1][1] == sorted(t for _, t in ran)[-1]
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0 and "Already at the newest schema" in again.output
    assert "Ran " not in again.output
    # and now the command that crashed works
    made = runner.invoke(args=["create-admin", "--email", "office@example.org"])
    assert made.exit_code == 0, made.output
    assert "Created admin office@example.org" in made.output


def test_a_database_one_migration_behind_is_caught_too(fresh_app):
    runner = fresh_app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    back = runner.invoke(args=["db", "downgrade"])
    assert back.exit_code == 0 and re.search(r"^Ran \S+ <- \S+", back.output, re.MULTILINE)
    result = runner.invoke(args=["reset-link", "someone@example.org"])
    assert result.exit_code != 0 and HINT in result.output


# --- /healthz, /readyz, request ids and JSON log lines ------------------------------------


@pytest.fixture
def json_app(tmp_path, monkeypatch, database_url):
    """The app as in production with CLINIC_LOG_FORMAT=json; the JSON handler is taken off the
    root logger afterwards, so that other tests' logging stays as it was."""
    root = logging.getLogger()
    level = root.level
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.setenv("CLINIC_LOG_FORMAT", "json")
    give_keys(tmp_path / "instance")
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    yield app
    for handler in [h for h in root.handlers if getattr(h, "clinic_json", False)]:
        root.removeHandler(handler)
    root.setLevel(level)
    app.extensions["clinic.db"].kw["bind"].dispose()


def json_lines(caplog: pytest.LogCaptureFixture) -> list[dict]:  # type: ignore[type-arg]
    """Every captured record as the configured JSON handler writes it, parsed back."""
    [handler] = [h for h in logging.getLogger().handlers if getattr(h, "clinic_json", False)]
    return [json.loads(handler.format(record)) for record in caplog.records]


def test_a_request_with_a_token_and_a_query_string_logs_json_without_either(json_app, caplog):
    caplog.set_level(logging.INFO)
    token = "tOkEn-InViTaTiOn-0123456789abcdefghijKLMNOP"
    email = "zofia.secret-person@example.net"
    response = json_app.test_client().get(f"/invitation/{token}?email={email}&next=/x")
    rid = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", rid)
    lines = json_lines(caplog)
    written = "\n".join(json.dumps(line) for line in lines)
    assert token not in written and email not in written and "next=" not in written
    [access] = [line for line in lines if line["logger"] == "clinic.access"]
    assert access["request_id"] == rid
    assert access["method"] == "GET" and access["path"] == "/invitation/[token]"
    assert access["status"] == response.status_code and access["duration_ms"] >= 0
    assert {"time", "level", "message"} <= access.keys()


def test_every_record_made_during_a_request_carries_its_id(json_app, caplog):
    caplog.set_level(logging.INFO)

    def noisy() -> str:
        logging.getLogger("clinic.something").warning("working on it")
        return "done"

    json_app.add_url_rule("/test/noisy", view_func=noisy)
    response = json_app.test_client().get("/test/noisy", headers={"X-Request-ID": "lb-7f3a.91_c"})
    assert response.headers["X-Request-ID"] == "lb-7f3a.91_c"  # the proxy's id, kept
    lines = json_lines(caplog)
    assert {line["request_id"] for line in lines} == {"lb-7f3a.91_c"}
    assert [line["message"] for line in lines if line["logger"] == "clinic.something"] == [
        "working on it"
    ]


@pytest.mark.parametrize(
    "offered", ["someone@example.org", "x" * 65, "<script>alert(1)</script>", "short", ""]
)
def test_an_unsafe_request_id_is_replaced(app, offered):
    response = app.test_client().get("/healthz", headers={"X-Request-ID": offered})
    rid = response.headers["X-Request-ID"]
    assert rid != offered and re.fullmatch(r"[0-9a-f]{32}", rid)


def test_healthz_and_readyz_answer_without_signing_in(app):
    client = app.test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.json == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["status"] == "ok"
    assert "Set-Cookie" not in ready.headers


def test_readyz_is_503_on_a_database_without_the_schema_or_unreachable(fresh_app, tmp_path):
    client = fresh_app.test_client()
    assert client.get("/healthz").status_code == 200  # alive all the same
    empty = client.get("/readyz")
    assert empty.status_code == 503 and empty.json["schema"] == "not at head"
    assert fresh_app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    assert client.get("/readyz").status_code == 200
    gone = create_app(
        {"DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:9/nothing", "TESTING": True}
    )
    down = gone.test_client().get("/readyz")
    assert down.status_code == 503 and down.json["database"] == "unreachable"
    assert "nobody" not in down.get_data(as_text=True)


# --- flask --app clinic doctor ----------------------------------------------------------------


def doctor(app) -> tuple[int, dict[str, tuple[str, str]]]:  # type: ignore[no-untyped-def]
    """Run `doctor`; its exit code and each row as {name: (status, detail)}."""
    result = app.test_cli_runner().invoke(args=["doctor"])
    rows = {}
    for line in result.output.splitlines():
        found = re.match(r"(OK|FAIL|SKIP)\s+(.+?)\s{2,}(.*)$", line)
        if found:
            rows[found.group(2)] = (found.group(1), found.group(3))
    assert rows, result.output
    return result.exit_code, rows


def test_doctor_on_a_new_install_is_red_until_the_schema_is_built(fresh_app):
    code, rows = doctor(fresh_app)
    assert code == 1
    assert rows["Database"][0] == "OK"
    assert rows["Schema"][0] == "FAIL" and "db upgrade" in rows["Schema"][1]
    assert fresh_app.test_cli_runner().invoke(args=["db", "upgrade"]).exit_code == 0
    code, rows = doctor(fresh_app)
    assert code == 0, rows
    assert rows["Schema"][0] == "OK" and rows["Secret key"][0] == "OK"
    assert rows["Instance folder"][0] == "OK"  # made 0700 by the app itself
    assert rows["Email (SMTP)"][0] == "SKIP" and rows["Redis"][0] == "SKIP"
    expected = "OK" if fresh_app.config["DATABASE_URL"].startswith("postgresql") else "SKIP"
    assert rows["Backup tool"][0] == expected, rows["Backup tool"]


def test_doctor_finds_an_open_instance_folder_and_a_weak_secret(app, tmp_path):
    (tmp_path / "instance").chmod(0o755)
    (tmp_path / "instance" / "encryption_keys").chmod(0o644)
    app.config["SECRET_KEY"] = "dev"
    code, rows = doctor(app)
    assert code == 1
    assert rows["Instance folder"][0] == "FAIL"
    assert "chmod 700" in rows["Instance folder"][1]
    assert "encryption_keys is mode 644" in rows["Instance folder"][1]
    assert rows["Secret key"][0] == "FAIL"


def test_doctor_is_red_while_the_keys_live_inside_the_python_environment(
    app, tmp_path, monkeypatch
):
    """A wheel install's default instance folder is <venv>/var/clinic-instance."""
    code, rows = doctor(app)
    assert rows["Instance folder"][0] == "OK"
    monkeypatch.setattr("sys.prefix", str(tmp_path))  # the instance folder is tmp_path/instance
    code, rows = doctor(app)
    assert code == 1 and rows["Instance folder"][0] == "FAIL"
    assert "inside the Python environment" in rows["Instance folder"][1]
    assert "CLINIC_INSTANCE_PATH" in rows["Instance folder"][1]


def test_doctor_sees_keys_that_cannot_read_the_stored_text(app, db, make_user, make_plan):
    from cryptography.fernet import Fernet

    from clinic import crypto
    from clinic.models import CheckIn

    assert doctor(app)[1]["Encryption keys"][0] == "OK"  # nothing stored yet to try
    client = make_user(Role.CLIENT)
    plan = make_plan(client)
    db.add(
        CheckIn(
            client_id=client.id, plan_id=plan.id, week=1, trust=5, distress=5, note="a hard week"
        )
    )
    db.commit()
    code, rows = doctor(app)
    assert rows["Encryption keys"][0] == "OK" and "column(s) tried" in rows["Encryption keys"][1]
    crypto.use_keys([Fernet.generate_key()])  # another deployment's key, or a lost one
    code, rows = doctor(app)
    assert code == 1 and rows["Encryption keys"][0] == "FAIL"
    assert "not the keys it was written with" in rows["Encryption keys"][1]


def test_doctor_signs_in_to_the_mail_server_over_starttls(app, tmp_path, monkeypatch):
    import asyncio
    import ssl

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    from clinic import mail

    from .test_notifications import Inbox, _free_port, _self_signed

    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)

    def authenticator(server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        return AuthResult(success=auth_data.password == b"s3cret", handled=False)

    controller = Controller(
        Inbox(),
        hostname="127.0.0.1",
        port=_free_port(),
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        original = ssl.create_default_context
        trusting = ssl.create_default_context(cafile=cert)
        monkeypatch.setattr(mail.ssl, "create_default_context", lambda: trusting)
        app.config.update(
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=controller.port,
            SMTP_SECURITY="starttls",
            SMTP_USER="bedrock",
            SMTP_PASSWORD="s3cret",
            SMTP_SENDER="bedrock@practice.example",
            BASE_URL="https://bedrock.example.org",
            SESSION_COOKIE_SECURE=True,
        )
        rows = doctor(app)[1]
        assert rows["Email (SMTP)"][0] == "OK", rows["Email (SMTP)"]
        assert "STARTTLS" in rows["Email (SMTP)"][1] and "bedrock" in rows["Email (SMTP)"][1]
        assert rows["HTTPS and proxy"][0] == "OK"
        app.config["SMTP_PASSWORD"] = "wrong"
        code, rows = doctor(app)
        assert code == 1 and rows["Email (SMTP)"][0] == "FAIL"
        assert "refused" in rows["Email (SMTP)"][1] and "535" in rows["Email (SMTP)"][1]
        app.config["SESSION_COOKIE_SECURE"] = False
        assert doctor(app)[1]["HTTPS and proxy"][0] == "FAIL"  # https links, cookies in clear
        # a certificate nobody vouches for is a red row, not a silent downgrade
        app.config["SMTP_PASSWORD"] = "s3cret"
        monkeypatch.setattr(mail.ssl, "create_default_context", original)
        rows = doctor(app)[1]
        assert rows["Email (SMTP)"][0] == "FAIL" and "TLS failed" in rows["Email (SMTP)"][1]
    finally:
        controller.stop()
        asyncio.set_event_loop(None)
    app.config["SMTP_PORT"] = 9  # nothing listens there (the stopped server's port may be
    rows = doctor(app)[1]  # taken at once by a test running in parallel)
    assert rows["Email (SMTP)"][0] == "FAIL" and "cannot reach" in rows["Email (SMTP)"][1]


def test_doctor_pings_redis(app):
    app.config["RATELIMIT_STORAGE_URI"] = "redis://127.0.0.1:6379/6"
    rows = doctor(app)[1]
    assert rows["Redis"] == ("OK", "redis://127.0.0.1:6379/6 answers")
    app.config["RATELIMIT_STORAGE_URI"] = "redis://:hunter2@127.0.0.1:9/6"
    code, rows = doctor(app)
    assert code == 1 and rows["Redis"][0] == "FAIL"
    assert "hunter2" not in rows["Redis"][1]


def test_doctor_and_the_guard_on_a_database_that_does_not_answer(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "instance"))
    give_keys(tmp_path / "instance")  # never made up for PostgreSQL
    app = create_app({"DATABASE_URL": "postgresql+psycopg://bedrock@127.0.0.1:9/bedrock"})
    code, rows = doctor(app)
    assert code == 1 and rows["Database"][0] == "FAIL" and "cannot connect" in rows["Database"][1]
    assert rows["Schema"][0] == "SKIP" and rows["Backup tool"][0] == "SKIP"
    result = app.test_cli_runner().invoke(args=["reset-link", "someone@example.org"])
    assert result.exit_code == 1 and "Cannot reach the database" in result.output


def test_doctor_can_leave_the_mail_server_out_for_the_web_start(app, tmp_path):
    """The web unit runs `doctor --skip email --skip backup-tool` before gunicorn: a mail
    server that is down must not keep the web app from starting."""
    from .test_notifications import _free_port

    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=_free_port(),  # nothing listens: the mail server is down
        SMTP_SECURITY="none",
        SMTP_SENDER="bedrock@practice.example",
        BASE_URL="http://127.0.0.1:5000",
    )
    runner = app.test_cli_runner()
    full = runner.invoke(args=["doctor"])
    assert re.search(r"FAIL\s+Email \(SMTP\)\s+cannot reach 127\.0\.0\.1", full.output), full.output
    assert full.exit_code == 1
    lean = runner.invoke(args=["doctor", "--skip", "email", "--skip", "backup-tool"])
    assert re.search(r"SKIP\s+Email \(SMTP\)\s+not checked \(--skip email\)", lean.output)
    assert re.search(r"SKIP\s+Backup tool\s+not checked \(--skip backup-tool\)", lean.output)
    assert "cannot reach" not in lean.output
