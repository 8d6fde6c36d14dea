"""Time the caseload dashboard for one therapist with a caseload of N clients.

    python bench/dashboard.py --clients 150 [--database-url URL] [--runs 30]

Builds a throwaway practice (SQLite in a temporary folder unless a URL is given), signs the
therapist in and requests the dashboard repeatedly; prints median and 95th percentile server
time and the number of SQL statements per request. A fuller benchmark suite lives with the
benchmarks issue; this one backs the dashboard figures in the closing notes."""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher

from clinic import accounts, create_app, plans, questionnaires
from clinic.db import Base, make_engine
from clinic.models import Practice, Role

PASSWORD = "benchmark password 1"


def build(url: str) -> None:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=150)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    url = args.database_url or f"sqlite:///{folder / 'bench.sqlite3'}"
    accounts._hasher = PasswordHasher(
        time_cost=1, memory_cost=1024, parallelism=1
    )  # setup speed only
    build(url)
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32, "WTF_CSRF_ENABLED": False}
    )
    factory = app.extensions["clinic.db"]
    with app.app_context():
        db = factory()
        practice = Practice(name="Bench")
        db.add(practice)
        therapist = accounts.create_user(
            db, practice, Role.THERAPIST, "Bench T", f"t{time.time_ns()}@bench.test", PASSWORD
        )
        for i in range(args.clients):
            client = accounts.add_client(db, therapist, f"Client {i}", None)
            week = 1 + i % 12
            first = dt.date.today() - dt.timedelta(days=7 * (week - 1))
            plan = plans.start_plan(db, client, therapist, first, first.weekday())
            for w in range(1, week + 1):
                for due in questionnaires.scheduled(db, plan, w)[0]:
                    inst = due.code
                    n = {"phq9": 9, "gad7": 7, "wsas": 5, "csi4": 4}[inst]
                    questionnaires.complete(
                        db,
                        client,
                        inst,
                        {
                            str(k): (1 if not (inst == "phq9" and k == 9) else 0)
                            for k in range(1, n + 1)
                        },
                        client,
                        plan=plan,
                        week=w,
                        slot=due.slot,
                    )
        db.commit()
        email = therapist.email
        db.close()
    web = app.test_client()
    web.post("/sign-in", data={"email": email, "password": PASSWORD})
    engine = factory.kw["bind"]
    statements: list[int] = []
    seen = [0]
    sa.event.listen(engine, "before_cursor_execute", lambda *a: seen.__setitem__(0, seen[0] + 1))
    times = []
    for _ in range(args.runs):
        seen[0] = 0
        start = time.perf_counter()
        response = web.get("/therapist/")
        times.append((time.perf_counter() - start) * 1000)
        statements.append(seen[0])
        assert response.status_code == 200
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    backend = sa.make_url(url).get_backend_name()
    print(
        f"dashboard, {args.clients} clients, {backend}: median {statistics.median(times):.1f} ms, "
        f"p95 {p95:.1f} ms, {statements[-1]} SQL statements per request ({args.runs} runs)"
    )


if __name__ == "__main__":
    main()
