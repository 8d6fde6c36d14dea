"""Running Bedrock in production (issue #16, items 3 and 4): commands on a database without its
schema say to run `db upgrade`, `db upgrade` says what it ran, `doctor` checks a deployment,
/healthz and /readyz answer a load balancer, and log lines carry a request id."""

from __future__ import annotations

import json
import logging
import re

import pytest

from clinic import create_app

from .test_migrations import empty_database_url  # noqa: F401  (a fixture)

HINT = "run `flask --app clinic db upgrade` first"


@pytest.fixture
def fresh_app(tmp_path, monkeypatch, empty_database_url):  # noqa: F811
    """A new instance folder and a database with nothing in it, as after installing."""
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "new-instance"))
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
