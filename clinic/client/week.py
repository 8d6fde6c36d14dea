"""This week: the phase, the week's idea, the homework as cards and what is due; and everything sent so far."""

from __future__ import annotations

from flask import render_template

from .. import accounts, goals, measures, plans, questionnaires, weeks
from .. import db as database
from ..timeutil import local_today
from ..web.gates import signed_in_user
from .blueprint import bp, current_plan


@bp.get("/")
def home() -> str:
    """This week: the phase and week, the week's idea, and the homework as cards."""
    client = signed_in_user()
    db = database.session()
    plan = current_plan()
    view = weeks.week_view(db, plan, local_today(client)) if plan is not None else None
    return render_template(
        "client/home.html",
        **(
            vars(view) | {"state": view.state, "done_count": view.done_count}
            if view
            else {"plan": None}
        ),
        client=client,
        therapist=accounts.therapist_of(db, client),
        requests=questionnaires.pending_requests(db, client),
        instruments=measures.instruments(),
        goals_set=len(goals.active_goals(db, plan)) if plan is not None else 0,
    )


@bp.get("/history")
def history() -> str:
    """Everything the client has sent, newest week first."""
    client = signed_in_user()
    db = database.session()
    rows = plans.sent_homework(db, client)
    titles = {a.worksheet_key: plans.worksheet(db, a.worksheet_key).title for _, a in rows}
    return render_template("client/history.html", rows=rows, titles=titles)
