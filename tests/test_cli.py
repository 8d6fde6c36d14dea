"""The command-line tools a practice runs: create-admin and demo."""

from __future__ import annotations

import re

import sqlalchemy as sa

from clinic.demo import CLIENTS, THERAPISTS
from clinic.models import Care, Plan, Practice, Role, Submission, User

from .test_auth import page_text


def test_create_admin_prints_a_generated_password_that_signs_in(app, client, db):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "Office@Example.org", "--practice", "Riverside Therapy"]
    )
    assert result.exit_code == 0, result.output
    password = re.search(r"Password: (\S+)", result.output).group(1)
    admin = db.scalars(sa.select(User)).one()
    assert admin.role == "admin" and admin.email == "office@example.org"
    assert admin.practice.name == "Riverside Therapy"
    response = client.post("/sign-in", data={"email": "office@example.org", "password": password})
    assert response.headers["Location"] == "/admin/"


def test_create_admin_takes_a_password_interactively(app, client):
    result = app.test_cli_runner().invoke(
        args=["create-admin", "--email", "boss@example.org", "--prompt-password"],
        input="a lighthouse in fog\na lighthouse in fog\n",
    )
    assert result.exit_code == 0, result.output
    assert "a lighthouse in fog" not in result.output
    response = client.post(
        "/sign-in", data={"email": "boss@example.org", "password": "a lighthouse in fog"}
    )
    assert response.headers["Location"] == "/admin/"


def test_create_admin_refuses_a_weak_password_and_a_taken_email(app, make_user):
    runner = app.test_cli_runner()
    weak = runner.invoke(
        args=["create-admin", "--email", "a@example.org", "--prompt-password"],
        input="short\nshort\n",
    )
    assert weak.exit_code != 0 and "at least 12 characters" in weak.output
    taken = make_user(Role.THERAPIST)
    dup = runner.invoke(args=["create-admin", "--email", taken.email])
    assert dup.exit_code != 0 and "already exists" in dup.output


def test_demo_builds_a_practice_that_people_can_sign_in_to(app, client, db, make_user):
    bystander = make_user(Role.THERAPIST)  # a real practice's data must survive the demo
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--password", "the demo harbour 2026"])
    assert result.exit_code == 0, result.output
    assert "the demo harbour 2026" in result.output
    assert "admin@demo.bedrock.test" in result.output
    assert re.search(r"http://127\.0\.0\.1:5000/invitation/\S+", result.output)

    def counts() -> dict[str, int]:
        rows = db.execute(
            sa.select(User.role, sa.func.count())
            .join(Practice)
            .where(Practice.is_demo)
            .group_by(User.role)
        )
        return dict(rows.all())

    assert counts() == {"admin": 1, "therapist": len(THERAPISTS), "client": len(CLIENTS)}
    assert len(CLIENTS) >= 6
    therapist_email = re.search(r"therapist\s+.*?(\S+@demo\.bedrock\.test)", result.output).group(1)
    client.post("/sign-in", data={"email": therapist_email, "password": "the demo harbour 2026"})
    assert "Your caseload" in page_text(client.get("/therapist/"))

    again = runner.invoke(args=["demo", "--password", "another demo password"])  # rebuild
    assert again.exit_code == 0, again.output
    db.expire_all()
    assert counts() == {"admin": 1, "therapist": len(THERAPISTS), "client": len(CLIENTS)}
    assert db.scalar(sa.select(sa.func.count()).select_from(Practice).where(Practice.is_demo)) == 1
    assert db.get(User, bystander.id) is not None
    open_cares = db.scalar(
        sa.select(sa.func.count()).select_from(Care).where(Care.ended_at.is_(None))
    )
    assert open_cares == len(CLIENTS)
    # Clients are spread over the plan, with homework that a client at that week would have.
    weeks = dict(
        db.execute(
            sa.select(User.display_name, sa.func.count(Submission.id))
            .join(Submission, Submission.client_id == User.id)
            .where(Submission.status != "draft")
            .group_by(User.display_name)
        ).all()
    )
    assert weeks["Rosa"] > weeks["Priya"] > weeks["Alex Moreno"] > 0
    assert "Jordan P." not in weeks
    statuses = set(db.scalars(sa.select(Plan.status)))
    assert statuses == {"active", "paused"}
    # The old session belonged to the first build: it must not carry over to anyone.
    assert client.get("/therapist/").status_code == 302
