"""Server time, SQL statements and memory for the pages and actions that matter.

    python bench/run.py --database-url URL [--runs 30] [--seed-first] [--json bench/results.json]

Runs against a practice made by bench/seed.py (with --seed-first it seeds one first, with the
seed script's defaults). Each measurement goes through the whole Flask app in this process
(routing, sign-in check, queries, templates or ReportLab), the way one worker serves it:

  dashboard 20 / 150    the caseload page of typical@ and heavy@bench.test
  client record         the record page of the heavy caseload's client furthest into the plan
  worksheet submission  a client sends a thought record (a correction each run, so each writes)
  questionnaire         a client answers a PHQ-9 the therapist sent
  session summary PDF   the latest signed note of that client
  progress report PDF   the whole plan of that client

Prints a table (median and 95th percentile in ms, statements per request) and the peak
resident memory of this process, and writes the figures as JSON."""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from flask.testing import FlaskClient
from seed import DOMAIN, PASSWORD, seed  # bench/seed.py, beside this file

from clinic import create_app, plans, questionnaires
from clinic.cli import alembic_config
from clinic.models import Administration, Assignment, Plan, SessionNote, Submission, User

TARGETS_MS = {
    "dashboard 150": 100,
    "client record": 80,
    "worksheet submission": 40,
    "questionnaire submission": 40,
    "session summary PDF": 100,
    "progress report PDF": 400,
}


def _sign_in(app: Any, email: str) -> FlaskClient:
    web = app.test_client()
    response = web.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, f"could not sign in as {email}"
    return web


def _measure(
    runs: int, counter: list[int], request: Callable[[int], Any], ok: Callable[[Any], bool]
) -> dict[str, float]:
    request(-1)  # warm: templates compiled, fonts registered, as in a worker that has served
    times, statements = [], []
    for i in range(runs):
        counter[0] = 0
        start = time.perf_counter()
        response = request(i)
        times.append((time.perf_counter() - start) * 1000)
        statements.append(counter[0])
        assert ok(response), f"unexpected response {response.status_code}"
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1),
        "statements": max(statements),
    }


def run(url: str, runs: int) -> dict[str, Any]:
    app = create_app(
        {
            "DATABASE_URL": url,
            "SECRET_KEY": "bench-" + "x" * 32,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
        }
    )
    factory = app.extensions["clinic.db"]
    with app.app_context():
        command.upgrade(alembic_config(), "head")  # a practice seeded by an older version
        db = factory()
        heavy = db.scalar(sa.select(User).where(User.email == f"heavy@{DOMAIN}"))
        if heavy is None:
            raise SystemExit("No bench practice here: run bench/seed.py first (or --seed-first).")
        # The heavy caseload's client furthest into the plan, with a signed note: the record
        # page and the reports are measured on them.
        plan = db.scalar(
            sa.select(Plan)
            .join(User, User.id == Plan.client_id)
            .where(User.email.like(f"heavy-%@client.{DOMAIN}"))
            .order_by(Plan.first_session, Plan.id)
            .limit(1)
        )
        assert plan is not None
        note = db.scalar(
            sa.select(SessionNote)
            .where(SessionNote.client_id == plan.client_id, SessionNote.status == "signed")
            .order_by(SessionNote.session_date.desc())
        )
        assert note is not None
        record_client_id, note_id = plan.client_id, note.id
        # A client whose thought record is open (not yet reviewed) sends it, and answers PHQ-9s.
        assignment = db.scalar(
            sa.select(Assignment)
            .join(Plan, Plan.id == Assignment.plan_id)
            .join(User, User.id == Plan.client_id)
            .outerjoin(Submission, Submission.assignment_id == Assignment.id)
            .where(
                User.email.like(f"heavy-%@client.{DOMAIN}"),
                Assignment.worksheet_key == "thought_record",
                sa.or_(Submission.id.is_(None), Submission.status != "reviewed"),
            )
            .order_by(Assignment.id)
            .limit(1)
        )
        assert assignment is not None, "no open thought record in the heavy caseload"
        client = db.get(User, assignment.plan.client_id)
        assert client is not None
        # One questionnaire request per run (and one to warm up).
        requests_ = [questionnaires.request(db, client, heavy, "phq9") for _ in range(runs + 1)]
        db.commit()
        request_ids = [r.id for r in requests_]
        client_email, assignment_id = client.email, assignment.id
        ws = plans.worksheet(db, "thought_record")
        fields = [f.key for f in ws.sections[0].fields]
        db.close()
    counter = [0]
    sa.event.listen(
        factory.kw["bind"],
        "before_cursor_execute",
        lambda *a: counter.__setitem__(0, counter[0] + 1),
    )
    therapist = _sign_in(app, f"heavy@{DOMAIN}")
    typical = _sign_in(app, f"typical@{DOMAIN}")
    person = _sign_in(app, client_email)
    page_ok = lambda r: r.status_code == 200  # noqa: E731
    pdf_ok = lambda r: r.status_code == 200 and r.data.startswith(b"%PDF")  # noqa: E731
    sent_ok = lambda r: r.status_code == 302  # noqa: E731

    def submit(i: int) -> Any:
        page = person.get(f"/me/homework/{assignment_id}").get_data(as_text=True)
        version = re.search(r'name="version"[^>]*value="(\d*)"', page)
        data = {
            "action": "submit",
            "version": version.group(1) if version else "0",
            "entries-0-date": "2026-03-02",
            "entries-0-situation": f"No reply for a while (run {i}).",
            "entries-0-automatic_thought": "They have lost interest in me.",
            "entries-0-belief_before": "80",
            "entries-0-emotion": "anxious",
            "entries-0-intensity_before": "70",
            "entries-0-evidence_for": "A short reply yesterday.",
            "entries-0-evidence_against": "A long call at the weekend.",
            "entries-0-balanced_thought": "They are busy this week; it is not about me.",
            "entries-0-belief_balanced": "55",
            "entries-0-intensity_after": "40",
        }
        assert set(fields) <= {
            k.removeprefix("entries-0-") for k in data if k.startswith("entries")
        }
        start = time.perf_counter()
        response = person.post(f"/me/homework/{assignment_id}", data=data)
        submit.server_ms = (time.perf_counter() - start) * 1000  # type: ignore[attr-defined]
        return response

    results: dict[str, Any] = {}
    results["dashboard 20"] = _measure(runs, counter, lambda i: typical.get("/therapist/"), page_ok)
    results["dashboard 150"] = _measure(
        runs, counter, lambda i: therapist.get("/therapist/"), page_ok
    )
    results["client record"] = _measure(
        runs, counter, lambda i: therapist.get(f"/therapist/clients/{record_client_id}"), page_ok
    )
    # The submission is timed on its POST alone (the GET that fetches the version is not).
    times = []
    statements = []
    submit(-1)
    for i in range(runs):
        counter[0] = 0
        response = submit(i)
        assert sent_ok(response), response.status_code
        times.append(submit.server_ms)  # type: ignore[attr-defined]
        statements.append(counter[0])
    times.sort()
    results["worksheet submission"] = {
        "median_ms": round(statistics.median(times), 1),
        "p95_ms": round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 1),
        "statements": max(statements),  # includes the GET's statements
    }
    answers = {f"item-{i}": "1" for i in range(1, 10)} | {"item-9": "0"}
    results["questionnaire submission"] = _measure(
        runs,
        counter,
        lambda i: person.post(f"/me/questionnaires/{request_ids[i + 1]}", data=answers),
        sent_ok,
    )
    results["session summary PDF"] = _measure(
        runs,
        counter,
        lambda i: therapist.get(
            f"/therapist/clients/{record_client_id}/notes/{note_id}/summary.pdf"
        ),
        pdf_ok,
    )
    results["progress report PDF"] = _measure(
        runs,
        counter,
        lambda i: therapist.get(f"/therapist/clients/{record_client_id}/progress-report.pdf"),
        pdf_ok,
    )
    with app.app_context():
        db = factory()
        answered = db.scalar(
            sa.select(sa.func.count())
            .select_from(Administration)
            .where(Administration.id.in_(request_ids), Administration.completed_at.is_not(None))
        )
        db.close()
    assert answered == runs + 1, f"{answered} of {runs + 1} questionnaires were stored"
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "database": sa.make_url(url).get_backend_name(),
        "runs": runs,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} CPUs",
        "results": results,
        "peak_rss_mb": round(peak_mb, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument(
        "--seed-first", action="store_true", help="Seed the default practice first."
    )
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results.json")
    args = parser.parse_args()
    if args.seed_first:
        seed(args.database_url, 40, 30, 150, 20, 1)
    report = run(args.database_url, args.runs)
    print(f"\n{report['database']}, {report['runs']} runs each ({report['machine']})")
    print(f"{'':28}{'median ms':>10}{'p95 ms':>10}{'SQL':>6}{'target ms':>11}")
    for name, r in report["results"].items():
        target = TARGETS_MS.get(name)
        print(
            f"{name:28}{r['median_ms']:>10}{r['p95_ms']:>10}{r['statements']:>6}"
            f"{(f'< {target}' if target else ''):>11}"
        )
    print(f"peak resident memory of this worker: {report['peak_rss_mb']} MB (target < 150)")
    existing = json.loads(args.json.read_text()) if args.json.exists() else {}
    existing[report["database"]] = report
    args.json.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
