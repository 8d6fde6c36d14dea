"""A realistic practice of any size, the same every time for the same seed.

    python bench/seed.py --database-url URL [--therapists 40] [--clients-per-therapist 30]
                         [--heavy 150] [--typical 20] [--caseloads 50 500 1500] [--seed 1]

Every client is at a random week of the 12-week plan with what a real client at that week
has: homework sent (most of it reviewed and rated, some late, this week's sometimes a
draft), the scheduled questionnaires with a believable trajectory, weekly check-ins, a signed
note for each past session, and the alerts their answers raised (older ones acknowledged).
Besides the regular therapists there is one heavy caseload (heavy@bench.test) and one typical
caseload (typical@bench.test), and one therapist per extra caseload size
(caseload-500@bench.test and so on: bench/run.py measures the dashboard at each size). Every
account's password is PASSWORD below.

The database is upgraded to the latest schema first; an earlier bench practice is replaced."""

from __future__ import annotations

import argparse
import datetime as dt
import random
import time
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from clinic import accounts, alerts, create_app, measures, notes, plans, questionnaires
from clinic import answers as engine
from clinic.cli import alembic_config
from clinic.demo import (
    ANSWERS_FIRST_SESSION,
    FEEDBACK,
    _answers_for,
    _demo_answers,
    _moment,
    _shift_dates,
)
from clinic.models import Practice, Role, User

PASSWORD = "bench practice password"
PRACTICE = "Bench Practice"
DOMAIN = "bench.test"
START = {"phq9": (8, 22), "gad7": (6, 18), "wsas": (12, 32), "csi4": (4, 14)}


@dataclass
class Counts:
    clients: int = 0
    submissions: int = 0
    administrations: int = 0
    alerts: int = 0


def _ack(note: str) -> alerts.Acknowledgement:
    return alerts.Acknowledgement(note, "assessed", "not_needed", "phone", dt.date.today())


def _client_history(
    db: Session, rng: random.Random, client: User, therapist: User, today: dt.date, c: Counts
) -> None:
    week = rng.randint(1, 12)
    first = today - dt.timedelta(days=7 * (week - 1) + rng.randint(0, 6))
    ws = plans.screening.definition(db)
    raw = plans.screening.answers_for(ws, {"outcome": "suitable"})
    plans.screening.record(db, client, therapist, raw, first - dt.timedelta(days=7))
    plan = plans.start_plan(db, client, therapist, first, first.weekday())
    answers = _demo_answers()
    shift = plan.first_session - ANSWERS_FIRST_SESSION
    engaged = rng.random()  # how much of the homework this client does
    for a in plan.assignments:
        if a.week > week:
            continue
        ws = plans.worksheet(db, a.worksheet_key)
        raw = _shift_dates(ws, engine.normalise_raw(ws, answers[a.worksheet_key]), shift)
        if a.week == week:
            if rng.random() < 0.4:
                plans.save_draft(db, a, client, raw, 0)
            continue
        if rng.random() > 0.5 + engaged / 2:
            continue  # not done: overdue
        sub = plans.submit(db, a, client, raw, 0)
        late = rng.random() < 0.2
        sub.submitted_at = sub.saved_at = _moment(a.due_on + dt.timedelta(days=1 if late else -1))
        c.submissions += 1
        if a.week < week - 1 or rng.random() < 0.6:
            plans.review(
                db,
                sub,
                therapist,
                completion=rng.choice(["some", "most", "all", "all"]),
                quality=rng.choice([1, 2, 3, 3, 4]),
                feedback=rng.choice(FEEDBACK),
            )
            sub.reviewed_at = _moment(a.due_on + dt.timedelta(days=2))
    # Questionnaires: a starting point and a slope per instrument, with week-to-week noise.
    trend = {
        code: (rng.randint(*START.get(code, (5, 15))), rng.uniform(-1.2, 0.4)) for code in START
    }
    now = dt.datetime.now(dt.UTC)
    for w in range(1, week + 1):
        when = min(_moment(plans.session_date(plan, w)), now)  # never in the future
        dues, check_in_due = questionnaires.scheduled(db, plan, w)
        for due in dues:
            if w == week and rng.random() < 0.5:
                continue  # this week's not answered yet
            inst = measures.instrument(due.code)
            start, slope = trend.get(due.code, (10, -0.5))
            if inst.higher_is_better:
                slope = -slope
            total = round(start + slope * (w - 1) + rng.uniform(-2, 2))
            total = max(inst.min_total, min(inst.max_total, total))
            item_answers = _answers_for(inst, total)
            if due.code == "phq9" and rng.random() < 0.03:
                item_answers["9"] = 1
            row, raised = questionnaires.complete(
                db, client, due.code, item_answers, client, plan=plan, week=w, slot=due.slot
            )
            row.completed_at = when
            c.administrations += 1
            for alert in raised:
                c.alerts += 1
                alert.opened_at = when
                if w < week:
                    alerts.acknowledge(
                        db, alert, therapist, _ack("Followed up; no immediate risk.")
                    )
                    alert.acknowledged_at = when + dt.timedelta(hours=20)
        if check_in_due and w < week:
            row, raised = questionnaires.record_check_in(
                db,
                client,
                plan,
                w,
                client,
                trust=min(10, 2 + w // 2 + rng.randint(0, 2)),
                distress=max(0, min(10, 7 - w // 2 + rng.randint(-2, 3))),
                helpfulness=None if w == 1 else rng.randint(1, 4),
                note=rng.choice([None, None, "A hard week at work.", "Talked with my partner."]),
            )
            row.created_at = when
            for alert in raised:
                c.alerts += 1
                alert.opened_at = when
                if w < week:
                    alerts.acknowledge(db, alert, therapist, _ack("Called to check in."))
    for w in range(1, week):
        note = notes.start_note(db, client, therapist, plans.session_date(plan, w))
        note.assessment = "Engaged; mistrust strongest around late replies. Less checking."
        note.plan = "Continue the program; next step agreed in session."
        notes.sign(db, note, therapist)
    c.clients += 1


def caseload_email(size: int, heavy: int = 150, typical: int = 20) -> str:
    """The therapist whose caseload has this many clients."""
    if size == heavy:
        return f"heavy@{DOMAIN}"
    if size == typical:
        return f"typical@{DOMAIN}"
    return f"caseload-{size}@{DOMAIN}"


def seed(
    url: str,
    therapists: int,
    per_therapist: int,
    heavy: int,
    typical: int,
    seed_value: int,
    caseloads: tuple[int, ...] = (),
) -> Counts:
    # One real Argon2id hash (default cost) shared by every account: the load run signs in
    # for real, and hashing thousands of passwords would only slow the seeding down.
    password_hash = accounts.hash_password(PASSWORD)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32})
    rng = random.Random(seed_value)
    today = dt.date.today()
    counts = Counts()
    with app.app_context():
        command.upgrade(alembic_config(), "head")
        factory = app.extensions["clinic.db"]
        db = factory()
        db.execute(sa.delete(Practice).where(Practice.name == PRACTICE))
        db.commit()
        practice = Practice(name=PRACTICE, time_zone="Europe/London")
        db.add(practice)
        db.flush()
        accounts.create_user(db, practice, Role.ADMIN, "Bench Admin", f"admin@{DOMAIN}", None)
        sizes = [(f"heavy@{DOMAIN}", heavy), (f"typical@{DOMAIN}", typical)] + [
            (f"t{n}@{DOMAIN}", per_therapist) for n in range(1, therapists + 1)
        ]
        # After the others, so that the same seed gives them the same clients as before.
        sizes += [
            (caseload_email(n, heavy, typical), n) for n in caseloads if n not in (heavy, typical)
        ]
        started = time.perf_counter()
        for email, size in sizes:
            therapist = accounts.create_user(
                db, practice, Role.THERAPIST, email.split("@")[0].title(), email, None
            )
            for i in range(size):
                client = accounts.add_client(
                    db,
                    therapist,
                    f"Client {email.split('@')[0]}-{i}",
                    f"{email.split('@')[0]}-{i}@client.{DOMAIN}",
                )
                client.password_hash = password_hash
                _client_history(db, rng, client, therapist, today, counts)
            db.execute(
                sa.update(User)
                .where(User.practice_id == practice.id, User.password_hash.is_(None))
                .values(password_hash=password_hash)
            )
            db.commit()
            print(
                f"  {email}: {size} clients ({time.perf_counter() - started:.0f} s so far)",
                flush=True,
            )
        db.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--therapists", type=int, default=40)
    parser.add_argument("--clients-per-therapist", type=int, default=30)
    parser.add_argument("--heavy", type=int, default=150)
    parser.add_argument("--typical", type=int, default=20)
    parser.add_argument(
        "--caseloads",
        type=int,
        nargs="*",
        default=[50, 500, 1500],
        help="extra therapists with these caseload sizes",
    )
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    c = seed(
        args.database_url,
        args.therapists,
        args.clients_per_therapist,
        args.heavy,
        args.typical,
        args.seed,
        tuple(args.caseloads),
    )
    print(
        f"Seeded {c.clients} clients, {c.submissions} homework submissions, "
        f"{c.administrations} questionnaires, {c.alerts} alerts in "
        f"{time.perf_counter() - started:.0f} s. Password for every account: {PASSWORD!r}"
    )


if __name__ == "__main__":
    main()
