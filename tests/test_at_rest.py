"""What is stored is bounded and private: a worksheet draft holds nothing longer than a sent
answer may be, and the SQLite database, its -wal and -shm files and backups are readable by
the app's own user only (mode 0600)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import create_app, plans
from clinic.db import engine as db_engine
from clinic.library import library
from clinic.models import Role, Submission

from .conftest import PASSWORD


@pytest.fixture
def homework(app, db, make_user, make_plan):  # type: ignore[no-untyped-def]
    """A client signed in, and their thought record (situation: a textarea of at most 1000)."""
    client = make_user(Role.CLIENT)
    plan = make_plan(client, start=dt.date.today())
    thought = next(a.id for a in plan.assignments if a.worksheet_key == "thought_record")
    browser = app.test_client()
    assert browser.post("/sign-in", data={"email": client.email, "password": PASSWORD})
    with app.app_context():
        field = library().worksheets["thought_record"].section("entries").field("situation")
    return browser, thought, field.max_length


def _stored(db):  # type: ignore[no-untyped-def]
    db.expire_all()
    return db.scalar(sa.select(Submission))


def test_a_draft_longer_than_its_field_is_not_stored_and_the_typing_stays(homework, db):
    browser, thought, limit = homework
    typed = "é" * (limit + 1)
    form = {"entries-0-situation": typed, "entries-0-emotion": "Worried", "version": "0"}
    response = browser.post(f"/me/homework/{thought}", data=form | {"action": "save"})
    assert response.status_code == 422
    page = BeautifulSoup(response.data, "html.parser")
    assert (
        f"Use at most {limit} characters (you have {limit + 1})"
        in page.find(id="entries-0-situation-error").get_text()
    )
    assert page.find(id="entries-0-situation").get_text().strip() == typed  # nothing lost
    assert "this draft was not saved" in page.get_text()
    assert _stored(db) is None
    background = browser.post(f"/me/homework/{thought}/autosave", data=form)
    assert background.status_code == 422 and "not saved" in background.get_json()["message"]
    assert _stored(db) is None
    # At the limit it is kept, as typed.
    form["entries-0-situation"] = "é" * limit
    assert browser.post(f"/me/homework/{thought}", data=form).status_code == 302
    assert _stored(db).answers["entries"][0]["situation"] == "é" * limit


def test_numbers_and_rows_in_a_draft_are_bounded_too(app, homework, db):
    browser, thought, _ = homework
    with app.app_context():
        rows = library().worksheets["thought_record"].section("entries").max_rows
    too_many = {f"entries-{i}-situation": f"Moment {i}" for i in range(rows + 1)}
    response = browser.post(f"/me/homework/{thought}", data=too_many | {"version": "0"})
    assert response.status_code == 422
    assert f"There is room for at most {rows} rows here." in response.get_data(as_text=True)
    digits = {"entries-0-belief_before": "9" * 5000, "version": "0"}
    for action in ("save", "submit"):
        response = browser.post(f"/me/homework/{thought}", data=digits | {"action": action})
        assert response.status_code == 422
        assert "Enter a whole number from 0 to 100" in response.get_data(as_text=True)
    assert _stored(db) is None


def test_a_draft_is_bounded_whichever_way_it_is_saved(app, db, make_user, make_plan):
    """The rule itself refuses, not only the form: the same for code and for requests."""
    client = make_user(Role.CLIENT)
    plan = make_plan(client, start=dt.date.today())
    thought = next(a for a in plan.assignments if a.worksheet_key == "thought_record")
    with app.app_context(), pytest.raises(plans.DraftTooLong) as refused:
        plans.save_draft(db, thought, client, {"entries": [{"situation": "x" * 20_000}]}, 0)
    assert list(refused.value.errors) == ["entries-0-situation"]


# --- files at rest ---------------------------------------------------------------------------


def _mode(path: Path) -> str:
    return oct(stat.S_IMODE(path.stat().st_mode))


def _fresh_app(instance: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The app as `flask --app clinic` builds it on a fresh instance folder (its own SQLite
    file there), for running its commands."""
    monkeypatch.setenv("CLINIC_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("CLINIC_DATABASE_URL", raising=False)
    return create_app({"SECRET_KEY": "test-only-" + "x" * 32})


def _command(app, *args: str) -> None:  # type: ignore[no-untyped-def]
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output


def test_the_database_its_wal_and_backups_are_private(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    app = _fresh_app(instance, monkeypatch)
    _command(app, "db", "upgrade")
    database = instance / "clinic.sqlite3"
    assert _mode(database) == "0o600"
    with app.app_context(), db_engine().connect() as conn:
        # While a connection writes, SQLite keeps -wal and -shm files beside the database.
        conn.execute(sa.text("CREATE TABLE private_check (x)"))
        conn.commit()
        for suffix in ("-wal", "-shm"):
            assert _mode(database.with_name(database.name + suffix)) == "0o600", suffix
    target = tmp_path / "backups" / "bedrock.sqlite3"
    _command(app, "backup", str(target))
    assert _mode(target) == "0o600"
    assert sqlite3.connect(target).execute("SELECT count(*) FROM user_account").fetchone() == (0,)
    app.extensions["clinic.db"].kw["bind"].dispose()
    # An install from before: the database and an old backup readable by everyone.
    database.chmod(0o644)
    target.chmod(0o644)
    app = _fresh_app(instance, monkeypatch)
    _command(app, "backup", str(target))
    assert (_mode(database), _mode(target)) == ("0o600", "0o600")
    app.extensions["clinic.db"].kw["bind"].dispose()
