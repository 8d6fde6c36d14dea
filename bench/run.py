"""Server time, SQL statements and memory for the pages and actions that matter, each beside
its floor: the least a bare Flask route or bare ReportLab spends to show the same thing.

    python bench/run.py --database-url URL [--runs 30] [--caseloads 50 150 500 1500]
                        [--seed-first] [--no-gc-freeze] [--only NAME...] [--json FILE]

Runs against a practice made by bench/seed.py (with --seed-first it seeds one first, with the
seed script's defaults). Each measurement goes through the whole Flask app in this process
(routing, sign-in check, queries, templates or ReportLab), the way one gunicorn worker serves
it: the app is made and warmed first, then clinic.warm() and clinic.settle_heap() as
deploy/gunicorn.conf.py does before forking. Requests to Bedrock and to the floor alternate, so both see the same machine:

  dashboard N           the caseload page of a therapist with N clients; floor: a bare Flask
                        route rendering the same rows, columns and sparklines from memory
  client record         the record page of the heavy caseload's client furthest into the plan
  worksheet submission  a client sends a thought record (a correction each run, so each writes)
  questionnaire         a client answers a PHQ-9 the therapist sent
  session summary PDF   the latest signed note of that client; floor: bare ReportLab drawing
  progress report PDF   the whole plan of that client;           the same text and chart lines
  start-up              import + create_app() in a fresh interpreter; floor: a bare Flask app

Prints median and 95th percentile (ms), statements per request and the ratio to the floor
(the median of each request's time over its neighbouring floor request's), and the peak
resident memory of this process; writes the figures as JSON."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from flask.testing import FlaskClient
from floor import pdf_app, pdf_spec, table_app, table_rows  # bench/floor.py
from seed import DOMAIN, PASSWORD, caseload_email, seed  # bench/seed.py

import clinic
from clinic import create_app, dashboard, pdf, plans, questionnaires, reports
from clinic.cli import alembic_config
from clinic.models import Administration, Assignment, Plan, SessionNote, Submission, User
from clinic.timeutil import local_today

# The most each may cost, as a multiple of its floor (issue #18).
TARGET_RATIOS = {
    "dashboard": 4.0,
    "session summary PDF": 1.3,
    "progress report PDF": 1.2,
    "start-up": 2.0,
}


def _sign_in(app: Any, email: str) -> FlaskClient:
    web = app.test_client()
    response = web.post("/sign-in", data={"email": email, "password": PASSWORD})
    assert response.status_code == 302, f"could not sign in as {email}"
    return web


def _summary(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return (
        round(statistics.median(times), 2),
        round(times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], 2),
    )


def _measure(
    runs: int,
    counter: list[int],
    request: Callable[[int], Any],
    ok: Callable[[Any], bool],
    floor: Callable[[], Any] | None = None,
) -> dict[str, float]:
    """Time `request` `runs` times (after one warming call); with a floor, time the floor's
    request beside each, in alternating order."""
    request(-1)  # warm: templates compiled, fonts registered, as in a worker that has served
    if floor is not None:
        answer = floor()
        assert answer.status_code == 200, f"the floor answered {answer.status_code}"
    times, floor_times, statements = [], [], []
    for i in range(runs):
        if floor is not None and i % 2:
            start = time.perf_counter()
            answer = floor()
            floor_times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, f"the floor answered {answer.status_code}"
        counter[0] = 0
        start = time.perf_counter()
        response = request(i)
        times.append((time.perf_counter() - start) * 1000)
        statements.append(counter[0])
        assert ok(response), f"unexpected response {response.status_code}"
        if floor is not None and not i % 2:
            start = time.perf_counter()
            answer = floor()
            floor_times.append((time.perf_counter() - start) * 1000)
            assert answer.status_code == 200, f"the floor answered {answer.status_code}"
    median, p95 = _summary(times)
    out: dict[str, float] = {"median_ms": median, "p95_ms": p95, "statements": max(statements)}
    if floor is not None:
        out["floor_median_ms"], out["floor_p95_ms"] = _summary(floor_times)
        # Each request against the floor's request beside it, then the median of those
        # ratios: a burst of load from elsewhere on the machine slows both of a pair.
        out["ratio"] = round(
            statistics.median(b / f for b, f in zip(times, floor_times, strict=True)), 2
        )
    return out


def _story_of(draw: Callable[[], bytes]) -> list[Any]:
    """The story a Bedrock PDF function hands to pdf.render (caught, not rendered)."""
    caught: list[Any] = []
    real = pdf.render

    def catch(story: list[Any], **kwargs: Any) -> bytes:
        caught.extend(story)
        return b""

    pdf.render = catch  # type: ignore[assignment]
    try:
        draw()
    finally:
        pdf.render = real  # type: ignore[assignment]
    return caught


STARTUP = {
    "floor": "from flask import Flask; Flask('floor')",
    "bedrock": "from clinic import create_app; create_app({'DATABASE_URL': %r, "
    "'SECRET_KEY': 'bench-' + 'x' * 32})",
}


def startup(url: str, runs: int) -> dict[str, float]:
    """Import and create_app() in a fresh interpreter, against a bare Flask app's, alternating;
    the time inside the interpreter (from before the import to after the app exists)."""
    timed = "import time; t = time.perf_counter(); {}; print(time.perf_counter() - t)"
    here = str(Path(__file__).resolve().parents[1])  # this checkout's clinic, unless told
    env = os.environ | {"PYTHONPATH": os.environ.get("PYTHONPATH") or here}
    times: dict[str, list[float]] = {"floor": [], "bedrock": []}
    for _ in range(runs):
        for name, code in STARTUP.items():
            code = code % url if "%r" in code else code
            out = subprocess.run(
                [sys.executable, "-c", timed.format(code)],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            times[name].append(float(out.stdout.split()[-1]) * 1000)
    median, p95 = _summary(times["bedrock"])
    floor_median, floor_p95 = _summary(times["floor"])
    return {
        "median_ms": median,
        "p95_ms": p95,
        "statements": 0,
        "floor_median_ms": floor_median,
        "floor_p95_ms": floor_p95,
        "ratio": round(
            statistics.median(b / f for b, f in zip(times["bedrock"], times["floor"], strict=True)),
            2,
        ),
    }


def run(
    url: str,
    runs: int,
    caseloads: list[int],
    freeze: bool = True,
    only: list[str] | None = None,
) -> dict[str, Any]:
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
        # The floors' content, read once from Bedrock's own figures (not timed).
        therapists = {
            n: db.scalar(sa.select(User).where(User.email == caseload_email(n))) for n in caseloads
        }
        missing = [n for n, t in therapists.items() if t is None]
        if missing:
            raise SystemExit(f"No caseload of {missing} here: seed with --caseloads {missing}.")
        floor_rows = {
            n: table_rows(
                dashboard.caseload(db, t, local_today(t), dt.datetime.now(dt.UTC))  # type: ignore[arg-type]
            )
            for n, t in therapists.items()
        }
        client_of_plan = db.get(User, record_client_id)
        assert client_of_plan is not None
        summary = reports.gather_session_summary(db, client_of_plan, note.session_date, note)
        progress_data = reports.gather_progress_report(db, client_of_plan, local_today(heavy))
        floor_specs = {
            "summary": pdf_spec(_story_of(lambda: reports.session_summary_pdf(summary))),
            "report": pdf_spec(_story_of(lambda: reports.progress_report_pdf(progress_data))),
        }
        db.close()
    counter = [0]
    sa.event.listen(
        factory.kw["bind"],
        "before_cursor_execute",
        lambda *a: counter.__setitem__(0, counter[0] + 1),
    )
    therapist = _sign_in(app, f"heavy@{DOMAIN}")
    caseload_web = {n: _sign_in(app, caseload_email(n)) for n in caseloads}
    person = _sign_in(app, client_email)
    summary_url = f"/therapist/clients/{record_client_id}/notes/{note_id}/summary.pdf"
    report_url = f"/therapist/clients/{record_client_id}/progress-report.pdf"
    # The bare floors, in this process.
    floors = {n: table_app(rows).test_client() for n, rows in floor_rows.items()}

    pdf_web = pdf_app(floor_specs, pdf.BODY, pdf.MARGIN).test_client()

    def pdf_floor(name: str) -> Callable[[], Any]:
        return lambda: pdf_web.get(f"/pdf/{name}")

    for web in floors.values():  # warm the floors' templates too
        web.get("/table")
    if freeze:
        clinic.warm()  # as deploy/gunicorn.conf.py does in the master before forking
        clinic.settle_heap()
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

    def want(name: str) -> bool:
        return not only or any(name.startswith(o) for o in only)

    for n in caseloads:
        if want(f"dashboard {n}"):
            results[f"dashboard {n}"] = _measure(
                runs,
                counter,
                lambda i, web=caseload_web[n]: web.get("/therapist/"),  # type: ignore[misc]
                page_ok,
                floor=lambda web=floors[n]: web.get("/table"),  # type: ignore[misc]
            )
    if want("client record"):
        results["client record"] = _measure(
            runs,
            counter,
            lambda i: therapist.get(f"/therapist/clients/{record_client_id}"),
            page_ok,
        )
    if want("worksheet submission"):
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
        median, p95 = _summary(times)
        results["worksheet submission"] = {
            "median_ms": median,
            "p95_ms": p95,
            "statements": max(statements),  # includes the GET's statements
        }
    if want("questionnaire submission"):
        answers = {f"item-{i}": "1" for i in range(1, 10)} | {"item-9": "0"}
        results["questionnaire submission"] = _measure(
            runs,
            counter,
            lambda i: person.post(f"/me/questionnaires/{request_ids[i + 1]}", data=answers),
            sent_ok,
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
    if want("session summary PDF"):
        results["session summary PDF"] = _measure(
            runs, counter, lambda i: therapist.get(summary_url), pdf_ok, floor=pdf_floor("summary")
        )
    if want("progress report PDF"):
        results["progress report PDF"] = _measure(
            runs, counter, lambda i: therapist.get(report_url), pdf_ok, floor=pdf_floor("report")
        )
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if want("start-up"):
        results["start-up"] = startup(url, max(5, runs // 3))
    return {
        "database": sa.make_url(url).get_backend_name(),
        "runs": runs,
        "gc_freeze": freeze,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "results": results,
        "peak_rss_mb": round(peak_mb, 1),
    }


def _target(name: str) -> float | None:
    return next((t for key, t in TARGET_RATIOS.items() if name.startswith(key)), None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--caseloads", type=int, nargs="+", default=[50, 150, 500, 1500])
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="Leave the collector as Python starts it (no clinic.settle_heap()).",
    )
    parser.add_argument(
        "--seed-first", action="store_true", help="Seed the default practice first."
    )
    parser.add_argument(
        "--only", nargs="+", help="Measure only the operations whose names start so."
    )
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "results.json")
    args = parser.parse_args()
    if args.seed_first:
        seed(args.database_url, 40, 30, 150, 20, 1, tuple(args.caseloads))
    report = run(args.database_url, args.runs, args.caseloads, not args.no_gc_freeze, args.only)
    print(f"\n{report['database']}, {report['runs']} runs each ({report['machine']})")
    print(
        f"{'':26}{'median ms':>10}{'p95 ms':>8}{'SQL':>5}{'floor ms':>10}{'p95':>8}"
        f"{'ratio':>7}{'target':>8}"
    )
    failed = []
    for name, r in report["results"].items():
        target = _target(name)
        floor = (
            f"{r['floor_median_ms']:>10}{r['floor_p95_ms']:>8}{r['ratio']:>6}×"
            if "ratio" in r
            else f"{'':>10}{'':>8}{'':>7}"
        )
        print(
            f"{name:26}{r['median_ms']:>10}{r['p95_ms']:>8}{r['statements']:>5}{floor}"
            f"{(f'≤ {target}×' if target else ''):>8}"
        )
        if target is not None and r["ratio"] > target:
            failed.append(name)
    print(f"peak resident memory of this process: {report['peak_rss_mb']} MB")
    print("over target: " + (", ".join(failed) if failed else "none"))
    existing = json.loads(args.json.read_text()) if args.json.exists() else {}
    existing[report["database"]] = report
    args.json.write_text(json.dumps(existing, indent=2) + "\n")
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
