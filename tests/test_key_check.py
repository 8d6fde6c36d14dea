"""Keys that cannot drift: a second host, worker or timer whose secret or encryption keys are
not the ones the database was written with refuses to start, and says what to do."""

from __future__ import annotations

import os
import subprocess
import sys

from clinic.models import Role

from .conftest import give_keys


def start(database_url, instance, **env):  # type: ignore[no-untyped-def]
    """Run a command in a process of its own, as a second host or the timer would."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CLINIC_")}
    environ |= {"CLINIC_INSTANCE_PATH": str(instance), "CLINIC_DATABASE_URL": database_url}
    environ |= env
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "clinic", "db", "current"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=60,
    )


def test_a_second_host_with_other_encryption_keys_refuses_to_start(
    app, database_url, make_user, tmp_path
):
    make_user(Role.THERAPIST)
    same = start(database_url, tmp_path / "instance")
    assert same.returncode == 0, same.stderr
    secret = app.config["SECRET_KEY"]
    give_keys(tmp_path / "host-b")  # its own, freshly made keys
    other = start(database_url, tmp_path / "host-b", CLINIC_SECRET_KEY=secret)
    assert other.returncode != 0
    assert "The first encryption key" in other.stderr
    assert "Copy the keys from a host that works" in other.stderr
    # The command says it in one message, not at the end of a traceback.
    assert other.stderr.startswith("Error: ") and "Traceback" not in other.stderr


def test_a_timer_with_another_secret_key_refuses_to_start(app, database_url, tmp_path):
    other = start(database_url, tmp_path / "instance", CLINIC_SECRET_KEY="z" * 64)
    assert other.returncode != 0
    assert "SECRET_KEY (CLINIC_SECRET_KEY) is not the one this database" in other.stderr
    assert "same value on every host and for the timer" in other.stderr
    assert "Traceback" not in other.stderr


def test_no_keys_are_made_up_for_a_database_already_in_use(app, database_url, tmp_path):
    empty = tmp_path / "fresh-instance"
    result = start(database_url, empty)
    assert result.returncode != 0
    assert "CLINIC_SECRET_KEY is not set" in result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    assert not (empty / "secret_key").exists() and not (empty / "encryption_keys").exists()


def test_an_instance_folder_inside_the_venv_is_warned_about(tmp_path, monkeypatch, caplog):
    from clinic import create_app

    monkeypatch.setattr(sys, "prefix", str(tmp_path / "venv"))
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(tmp_path / "venv" / "var" / "clinic-instance"))
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'dev.sqlite3'}"})
    app.extensions["clinic.db"].kw["bind"].dispose()
    assert "inside the Python environment" in caplog.text
    assert "Set CLINIC_INSTANCE_PATH" in caplog.text


def test_the_secret_key_can_be_changed_on_purpose(app, database_url, make_user, tmp_path):
    make_user(Role.THERAPIST)
    old = app.config["SECRET_KEY"]
    new = "n" * 64
    runner = app.test_cli_runner()
    short = runner.invoke(
        args=["change-secret", "--new-secret-env", "NEW_SECRET", "--yes"],
        env={"NEW_SECRET": "too short"},
    )
    assert short.exit_code == 1 and "shorter than 32 characters" in short.output
    changed = runner.invoke(
        args=["change-secret", "--new-secret-env", "NEW_SECRET", "--yes"],
        env={"NEW_SECRET": new},
    )
    assert changed.exit_code == 0, changed.output
    assert "on every host and for the timer" in changed.output
    # A host still on the old secret now refuses to start; one with the new secret starts.
    stale = start(database_url, tmp_path / "instance", CLINIC_SECRET_KEY=old)
    assert stale.returncode != 0 and "SECRET_KEY" in stale.stderr
    fresh = start(database_url, tmp_path / "instance", CLINIC_SECRET_KEY=new)
    assert fresh.returncode == 0, fresh.stderr
