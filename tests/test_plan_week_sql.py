"""The plan's week "now" worked out in SQL (for counting a whole caseload's homework in one
query) agrees with plans.position, the one definition, on this database."""

from __future__ import annotations

import datetime as dt
import random

import sqlalchemy as sa

from clinic import plans
from clinic.models import Plan, Role

from .conftest import record_screen


def test_the_week_in_sql_is_the_week_position_gives(app, db, make_user):
    therapist = make_user(Role.THERAPIST)
    rng = random.Random(18)
    today = dt.date(2026, 3, 4)
    with app.app_context():
        made = []
        for i in range(30):
            client = make_user(Role.CLIENT, therapist=therapist, name=f"Weeks {i}")
            record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
            first = today + dt.timedelta(days=rng.randint(-120, 20))
            plan = plans.start_plan(db, client, therapist, first, first.weekday())
            plan.first_session = first  # any weekday: the week follows from the date alone
            plan.paused_days = rng.choice([0, 0, 3, 7, 15])
            if i % 3 == 0:
                plan.status = "paused"
                plan.paused_on = first + dt.timedelta(days=rng.randint(0, 90))
            made.append(plan)
        db.commit()
        dialect = db.get_bind().dialect.name
        for day in (today, today - dt.timedelta(days=200), today + dt.timedelta(days=45)):
            in_sql = dict(
                db.execute(
                    sa.select(Plan.id, plans.week_in_sql(day, dialect)).where(
                        Plan.id.in_([p.id for p in made])
                    )
                ).all()
            )
            assert in_sql == {p.id: plans.position(p, day).week for p in made}, day
