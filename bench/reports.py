"""Time the two PDF reports through the web app, as a therapist downloads them.

    python bench/reports.py [--database-url URL] [--runs 30]

Builds the demo practice in a throwaway database (SQLite in a temporary folder unless a URL
is given) and downloads, for the demo client at the end of the 12-week plan (every worksheet
sent and reviewed, every questionnaire, two signed notes), the session summary of the latest
note and the full progress report. Prints median and 95th percentile server time, the PDF
size and the SQL statements per request."""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher

from clinic import accounts, create_app
from clinic.db import Base, make_engine
from clinic.demo import build_demo
from clinic.models import SessionNote, User

PASSWORD = "benchmark password 1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database-url")
    args = parser.parse_args()
    url = args.database_url or f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.sqlite3'}"
    accounts._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # setup only
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    app = create_app(
        {"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32, "WTF_CSRF_ENABLED": False}
    )
    factory = app.extensions["clinic.db"]
    with app.app_context():
        db = factory()
        build_demo(db, PASSWORD)
        db.commit()
        client = db.scalar(sa.select(User).where(User.display_name == "Rosa"))
        assert client is not None
        note = db.scalar(
            sa.select(SessionNote)
            .where(SessionNote.client_id == client.id)
            .order_by(SessionNote.session_date.desc())
        )
        assert note is not None and note.therapist_id is not None
        therapist = db.get(User, note.therapist_id)
        assert therapist is not None
        email, client_id, note_id = therapist.email, client.id, note.id
        db.close()
    web = app.test_client()
    web.post("/sign-in", data={"email": email, "password": PASSWORD})
    seen = [0]
    sa.event.listen(
        factory.kw["bind"], "before_cursor_execute", lambda *a: seen.__setitem__(0, seen[0] + 1)
    )
    backend = sa.make_url(url).get_backend_name()
    for label, path in (
        ("session summary", f"/therapist/clients/{client_id}/notes/{note_id}/summary.pdf"),
        ("progress report", f"/therapist/clients/{client_id}/progress-report.pdf"),
    ):
        web.get(path)  # first request loads fonts; a worker does that once
        times, size = [], 0
        for _ in range(args.runs):
            seen[0] = 0
            start = time.perf_counter()
            response = web.get(path)
            times.append((time.perf_counter() - start) * 1000)
            assert response.status_code == 200 and response.data.startswith(b"%PDF")
            size = len(response.data)
        times.sort()
        p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
        print(
            f"{label}, {backend}: median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
            f"{size / 1024:.0f} KiB, {seen[0]} SQL statements ({args.runs} runs)"
        )


if __name__ == "__main__":
    main()
