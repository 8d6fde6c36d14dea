"""Running Bedrock in production (issue #16, items 3 and 4): commands on a database without its
schema say to run `db upgrade`, `db upgrade` says what it ran, `doctor` checks a deployment,
/healthz and /readyz answer a load balancer, and log lines carry a request id."""

from __future__ import annotations

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
