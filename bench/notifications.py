"""Time one run of send-notifications for a practice of N clients, each with homework due
tomorrow, against a local SMTP server (aiosmtpd, from the test extra).

    python bench/notifications.py --clients 150 [--database-url URL]

Prints the time to plan (finding what is due for every client), the time to send the
messages, and the SQL statements of each step; then times a second run, which finds
everything already planned and sent (what every cron run of a quiet day costs)."""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Sink
from argon2 import PasswordHasher

from clinic import accounts, create_app, mail, notifications, plans
from clinic import db as database
from clinic.db import Base, make_engine
from clinic.models import Practice, Role

PASSWORD = "benchmark password 1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--database-url")
    parser.add_argument("--smtp-port", type=int, default=8034)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    smtp = Controller(Sink(), hostname="127.0.0.1", port=args.smtp_port)
    smtp.start()
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + "x" * 32,
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": args.smtp_port,
            "SMTP_SECURITY": "none",
            "SMTP_SENDER": "bench@bench.test",
            "BASE_URL": "http://127.0.0.1:5180",
        }
    )
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    with app.app_context():
        db = database.session()
        practice = Practice(name="Bench", quiet_from_hour=0, quiet_until_hour=0)
        db.add(practice)
        stamp = time.time_ns()
        therapist = accounts.create_user(
            db, practice, Role.THERAPIST, "Bench T", f"t{stamp}@bench.test", PASSWORD
        )
        for i in range(args.clients):
            client = accounts.add_client(db, therapist, f"Client {i}", f"c{i}.{stamp}@bench.test")
            client.password_hash = accounts.hash_password(PASSWORD)
            week = 1 + i % 12
            first = dt.date.today() - dt.timedelta(days=7 * (week - 1) + 2)
            ws = plans.screening.definition(db)
            raw = plans.screening.answers_for(ws, {"outcome": "suitable"})
            plans.screening.record(db, client, therapist, raw, first - dt.timedelta(days=7))
            plan = plans.start_plan(db, client, therapist, first, first.weekday())
            for a in plan.assignments:
                if a.week == week:
                    a.due_on = tomorrow
        db.commit()
        bound = database.engine()
        seen = [0]
        sa.event.listen(bound, "before_cursor_execute", lambda *a: seen.__setitem__(0, seen[0] + 1))
        now = dt.datetime.now(dt.UTC)
        start = time.perf_counter()
        planned = notifications.plan(db, now)
        db.commit()
        plan_ms, plan_sql = (time.perf_counter() - start) * 1000, seen[0]
        seen[0] = 0
        start = time.perf_counter()
        with mail.Mailer(app.config) as mailer:
            outcome = notifications.deliver(db, mailer, now)
        send_ms, send_sql = (time.perf_counter() - start) * 1000, seen[0]
        seen[0] = 0
        start = time.perf_counter()
        again = notifications.run(db, now)
        again_ms, again_sql = (time.perf_counter() - start) * 1000, seen[0]
    smtp.stop()
    backend = sa.make_url(url).get_backend_name()
    print(
        f"send-notifications, {args.clients} clients, {backend}: planned {planned} in "
        f"{plan_ms:.0f} ms ({plan_sql} SQL); sent {outcome.sent} in {send_ms:.0f} ms "
        f"({send_sql} SQL); a second run: {again.planned} planned, {again.sent} sent in "
        f"{again_ms:.0f} ms ({again_sql} SQL)"
    )


if __name__ == "__main__":
    main()
