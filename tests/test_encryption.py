"""Encryption at rest of clinical free text."""

from __future__ import annotations

import datetime as dt
import stat

import pytest
import sqlalchemy as sa

from clinic import crypto, notes, plans, questionnaires
from clinic.models import CheckIn, Role, SessionNote, Submission, User

from .conftest import record_screen

SECRET = "Chris looked at his phone and I felt sick"


@pytest.fixture
def stored(app, db, make_user):  # type: ignore[no-untyped-def]
    therapist = make_user(Role.THERAPIST)
    client = make_user(Role.CLIENT, therapist=therapist)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, dt.date.today(), dt.date.today().weekday())
        a = next(x for x in plan.assignments if x.worksheet_key == "trust_history")
        plans.save_draft(db, a, client, {"events": [{"what_happened": SECRET}]}, 0)
        note = notes.start_note(db, client, therapist, dt.date.today())
        note.assessment = SECRET
        questionnaires.record_check_in(
            db, client, plan, 1, client, trust=5, distress=4, helpfulness=None, note=SECRET
        )
        questionnaires.complete(
            db, client, "gad7", {str(i): 2 for i in range(1, 8)}, client, plan=plan
        )
        db.commit()
    return client


def raw(db, sql: str) -> list:  # type: ignore[no-untyped-def]
    return [r[0] for r in db.execute(sa.text(sql))]


def test_a_raw_database_read_shows_no_plaintext(app, db, stored):
    for sql in (
        "SELECT answers FROM submission",
        "SELECT assessment FROM session_note",
        "SELECT note FROM check_in",
        "SELECT data FROM session_note",
    ):
        values = raw(db, sql)
        assert values and all(v.startswith("gAAAAA") for v in values), sql
        assert not any(SECRET in v or "Chris" in v for v in values), sql
    # ...while the app reads them back as written,
    sub = db.scalars(sa.select(Submission)).one()
    assert sub.answers["events"][0]["what_happened"] == SECRET
    assert db.scalars(sa.select(SessionNote)).one().assessment == SECRET
    # and scores stay plain, so they can be queried and charted.
    assert raw(db, "SELECT total FROM administration") == [14]
    assert db.scalar(sa.select(CheckIn.distress)) == 4


def test_a_tampered_value_is_an_error_never_wrong_text(app, db, stored):
    token = raw(db, "SELECT note FROM check_in")[0]
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]
    db.execute(sa.text("UPDATE check_in SET note = :t"), {"t": tampered})
    db.commit()
    db.expire_all()
    with pytest.raises(crypto.ClinicalDataError, match="could not be decrypted"):
        db.scalar(sa.select(CheckIn.note))


def test_keys_live_in_the_instance_folder_with_private_permissions(app):
    from pathlib import Path

    path = Path(app.instance_path) / "encryption_keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert crypto.parse_keys(path.read_text())


def test_keys_can_come_from_the_environment(app):
    from cryptography.fernet import Fernet

    key = Fernet.generate_key()
    crypto.use_keys(crypto.parse_keys(key.decode()))
    token = crypto.encrypt("x")
    assert Fernet(key).decrypt(token.encode()) == b"x"


def test_rotation_reencrypts_everything_with_a_new_key(app, db, stored):
    before = raw(db, "SELECT answers FROM submission") + raw(db, "SELECT note FROM check_in")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["encryption", "new-key", "--write"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["encryption", "reencrypt"])
    assert result.exit_code == 0 and "Re-encrypted" in result.output, result.output
    after = raw(db, "SELECT answers FROM submission") + raw(db, "SELECT note FROM check_in")
    assert all(a != b for a, b in zip(before, after, strict=True))
    # Only the new key is needed from now on.
    from pathlib import Path

    newest = (Path(app.instance_path) / "encryption_keys").read_text().splitlines()[0]
    crypto.use_keys(crypto.parse_keys(newest))
    db.expire_all()
    assert db.scalar(sa.select(CheckIn.note)) == SECRET
    assert db.scalars(sa.select(Submission)).one().answers["events"][0]["what_happened"] == SECRET


def tokens(db) -> list[str]:  # type: ignore[no-untyped-def]
    """Every stored encrypted value, in every encrypted column."""
    from clinic import keycheck

    found = []
    for column in keycheck._encrypted_columns():
        query = sa.select(sa.cast(column, sa.Text)).where(column.is_not(None))
        found += [v for v in db.scalars(query) if v]
    return found


def test_reencryption_goes_in_batches_and_resumes_where_it_stopped(app, db, stored, monkeypatch):
    therapist = db.scalars(sa.select(User).where(User.role == Role.THERAPIST)).one()
    with app.app_context():
        for day in range(1, 8):
            note = notes.start_note(db, stored, therapist, dt.date(2001, 1, day))
            note.assessment = f"{SECRET} ({day})"
        db.commit()
    runner = app.test_cli_runner()
    assert runner.invoke(args=["encryption", "new-key", "--write"]).exit_code == 0
    everything = len(tokens(db))
    assert everything >= 10

    # The run stops part-way, at the fifth note (the process is killed, the database goes
    # away, ...): the notes are rows 1-8 in batches of two, so the third batch fails.
    real_rotate = crypto.rotate

    def rotate_then_fail(token: str) -> str:
        if crypto.decrypt(token).endswith("(5)"):
            raise RuntimeError("the run was stopped")
        return real_rotate(token)

    monkeypatch.setattr(crypto, "rotate", rotate_then_fail)
    stopped = runner.invoke(args=["encryption", "reencrypt", "--batch", "2"])
    assert stopped.exit_code != 0
    assert "session_note: 4 of 8 row(s) checked" in stopped.output, stopped.output
    assert "session_note: 6 of 8" not in stopped.output
    db.expire_all()
    done = sum(crypto.written_with_first_key(t) for t in tokens(db))
    # Whole batches before the stop were committed; the batch that failed was not.
    assert 0 < done < everything

    monkeypatch.setattr(crypto, "rotate", real_rotate)
    resumed = runner.invoke(args=["encryption", "reencrypt", "--batch", "2"])
    assert resumed.exit_code == 0, resumed.output
    assert f"Re-encrypted {everything - done} value(s)" in resumed.output
    assert "session_note: 8 of 8 row(s) checked" in resumed.output
    db.expire_all()
    assert all(crypto.written_with_first_key(t) for t in tokens(db))
    # Only now is the old key no longer needed: the newest one reads everything.
    from pathlib import Path

    newest = (Path(app.instance_path) / "encryption_keys").read_text().splitlines()[0]
    crypto.use_keys(crypto.parse_keys(newest))
    db.expire_all()
    assert sorted(n.assessment for n in db.scalars(sa.select(SessionNote)))[0] == SECRET
