"""This week: the phase, the week's idea, the homework as cards and what is due; and everything sent so far."""

from __future__ import annotations

import sqlalchemy as sa
from flask import render_template

from .. import accounts, measures, plans, questionnaires
from .. import db as database
from ..models import (
    Assignment,
    Submission,
    SubmissionStatus,
)
from ..timeutil import local_today
from ..web.gates import signed_in_user
from .blueprint import bp, current_plan


@bp.get("/")
def home() -> str:
    """This week: the phase and week, the week's idea, and the homework as cards."""
    client = signed_in_user()
    db = database.session()
    therapist = accounts.therapist_of(db, client)
    plan = current_plan()
    if plan is None:
        return render_template(
            "client/home.html",
            client=client,
            therapist=therapist,
            plan=None,
            requests=questionnaires.pending_requests(db, client),
            instruments=measures.instruments(),
        )
    today = local_today(client)
    where = plans.position(plan, today)
    program = plans.program_of(db, plan)
    live = [a for a in plan.assignments if a.removed_at is None]
    this_week = [a for a in live if a.week == where.week]
    earlier = [
        a
        for a in live
        if a.week < where.week
        and plans.homework_state(a, today) in ("draft", "overdue", "not_started")
    ]
    next_week = [a for a in live if a.week == where.week + 1]
    library = {a.worksheet_key: plans.worksheet(db, a.worksheet_key) for a in live}
    dues, check_in_due = ([], False)
    if plan.status != "finished":
        dues, check_in_due = questionnaires.scheduled(db, plan, where.week)
        if where.week > 1:  # last week's questionnaires stay open for a week
            dues += [d for d in questionnaires.scheduled(db, plan, where.week - 1)[0] if not d.done]
    return render_template(
        "client/home.html",
        dues=dues,
        check_in_due=check_in_due,
        check_in_done=questionnaires.check_in_for(db, plan, where.week) if check_in_due else None,
        requests=questionnaires.pending_requests(db, client),
        instruments=measures.instruments(),
        client=client,
        therapist=therapist,
        plan=plan,
        where=where,
        week=program.week(where.week),
        upcoming=program.week(where.week + 1) if where.week < plans.WEEKS else None,
        this_week=this_week,
        earlier=earlier,
        next_week=next_week,
        library=library,
        state=lambda a: plans.homework_state(a, today),
        today=today,
    )


@bp.get("/history")
def history() -> str:
    """Everything the client has sent, newest week first."""
    client = signed_in_user()
    db = database.session()
    rows = db.execute(
        sa.select(Submission, Assignment)
        .join(Assignment, Assignment.id == Submission.assignment_id)
        .where(
            Submission.client_id == client.id,
            Submission.status != SubmissionStatus.DRAFT.value,
        )
        .order_by(Assignment.week.desc(), Submission.submitted_at.desc())
    ).all()
    titles = {a.worksheet_key: plans.worksheet(db, a.worksheet_key).title for _, a in rows}
    return render_template("client/history.html", rows=rows, titles=titles)
