"""A bounded load run: gunicorn with several workers on 127.0.0.1 against the seeded bench
practice, driven by locust (bench/locustfile.py) for a fixed time.

    python bench/load.py --database-url URL [--workers 4] [--users 24] [--duration 60]

Seed first with bench/seed.py (same URL, same instance folder: the encryption keys live there).
Reports throughput, latency percentiles and errors per request kind, the peak resident memory
of each worker, and counts the rows afterwards: every questionnaire answer and worksheet the
server accepted must be in the database (zero lost), and no request may end in a 5xx.
The per-address sign-in limit is switched off for the run (every simulated person signs in
from 127.0.0.1); the per-account lockout stays on."""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from clinic import create_app
from clinic.models import Administration, SubmissionRevision

HERE = Path(__file__).resolve().parent


def _rows(url: str) -> dict[str, int]:
    """How many questionnaires are answered and worksheet versions stored: counted before and
    after the run, the difference is what the run stored."""
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32})
    with app.app_context():
        db = app.extensions["clinic.db"]()
        counts = {
            "questionnaires": db.scalar(
                sa.select(sa.func.count())
                .select_from(Administration)
                .where(Administration.completed_at.is_not(None))
            ),
            "worksheets": db.scalar(sa.select(sa.func.count()).select_from(SubmissionRevision)),
        }
        db.close()
        app.extensions["clinic.db"].kw["bind"].dispose()
    return counts


def _wait_for(port: int, seconds: float = 30) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"gunicorn did not listen on 127.0.0.1:{port}")


def _peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--port", type=int, default=5300)
    parser.add_argument("--therapists", type=int, default=40, help="as seeded")
    parser.add_argument("--clients-per-therapist", type=int, default=30, help="as seeded")
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="bedrock-load-"))
    env = os.environ | {
        "CLINIC_DATABASE_URL": args.database_url,
        "CLINIC_SECRET_KEY": "bench-" + "x" * 32,
        "CLINIC_RATELIMIT_ENABLED": "false",
        "LOAD_COUNTS": str(out / "accepted.json"),
        "LOAD_THERAPISTS": str(args.therapists),
        "LOAD_CLIENTS_PER_THERAPIST": str(args.clients_per_therapist),
    }
    before = _rows(args.database_url)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            str(args.workers),
            "--bind",
            f"127.0.0.1:{args.port}",
            "--access-logfile",
            "-",
            "--error-logfile",
            str(out / "gunicorn.err"),
            "clinic:create_app()",
        ],
        env=env,
        stdout=open(out / "access.log", "w"),  # noqa: SIM115
    )
    try:
        _wait_for(args.port)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(HERE / "locustfile.py"),
                "--headless",
                "--users",
                str(args.users),
                "--spawn-rate",
                str(max(1, args.users // 5)),
                "--run-time",
                f"{args.duration}s",
                "--host",
                f"http://127.0.0.1:{args.port}",
                "--csv",
                str(out / "load"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            env=env,
            check=False,
        )
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
        memory = [round(_peak_rss_mb(int(pid)), 1) for pid in children]
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    accepted = json.loads((out / "accepted.json").read_text())
    after = _rows(args.database_url)
    stored = {k: after[k] - before[k] for k in after}
    statuses: dict[str, int] = {}
    for line in (out / "access.log").read_text().splitlines():
        parts = line.split('"')
        if len(parts) > 2 and parts[2].split():
            code = parts[2].split()[0]
            statuses[code] = statuses.get(code, 0) + 1
    server_errors = sum(n for code, n in statuses.items() if code.startswith("5"))
    backend = sa.make_url(args.database_url).get_backend_name()
    print(
        f"\nLoad: {args.workers} gunicorn workers, {backend}, {args.users} simulated people, "
        f"{args.duration} s"
    )
    print(
        f"{'request':26}{'count':>7}{'fail':>6}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
    )
    with open(out / "load_stats.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            print(
                f"{row['Name'][:26]:26}{row['Request Count']:>7}{row['Failure Count']:>6}"
                f"{float(row['Requests/s']):>8.1f}{row['50%']:>8}{row['95%']:>8}{row['99%']:>8}"
            )
    print(f"HTTP statuses seen by the server: {dict(sorted(statuses.items()))}")
    print(f"5xx responses: {server_errors}")
    print(f"peak resident memory per worker (MB): {memory}")
    # A write the client saw accepted must be stored. The reverse can differ by the few
    # requests still in flight when locust stops: stored, but their answer never read.
    lost = {k: max(0, accepted[k] - stored[k]) for k in ("questionnaires", "worksheets")}
    print(f"writes accepted: {accepted}; rows found afterwards: {stored}; lost: {lost}")
    report = {
        "database": backend,
        "workers": args.workers,
        "users": args.users,
        "duration_s": args.duration,
        "statuses": statuses,
        "worker_peak_rss_mb": memory,
        "accepted": accepted,
        "stored": stored,
    }
    (HERE / "load-results.json").write_text(json.dumps(report, indent=2) + "\n")
    if server_errors or any(lost.values()):
        raise SystemExit("FAILED: server errors or lost writes")


if __name__ == "__main__":
    main()
