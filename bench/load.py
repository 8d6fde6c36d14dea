"""A bounded load run: gunicorn (deploy/gunicorn.conf.py: the app preloaded in the master,
its heap settled before forking) with several workers on 127.0.0.1 against the seeded bench
practice, driven by locust (bench/locustfile.py) for a fixed time, then a throughput race
against the floor.

    python bench/load.py --database-url URL [--workers 4] [--users 24] [--duration 60]
                         [--race-workers 2] [--race-seconds 15] [--race-caseload 150]

Seed first with bench/seed.py (same URL, same instance folder: the encryption keys live there).
Reports throughput, latency percentiles and errors per request kind, each worker's peak
memory (resident, and its own: what it does not share with the master), and counts the rows
afterwards: every questionnaire answer and worksheet the server accepted must be in the
database (zero lost), and no request may end in a 5xx.

The race: the caseload dashboard of a therapist with --race-caseload clients, requested as
fast as the server answers by a few connections, from gunicorn with --race-workers workers,
against the same number of workers serving the bare table route (bench/floor.py) with the
same rows; the two alternate, twice each, and the report gives Bedrock's throughput as a
share of the floor's.
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
import threading
import time
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa
from floor import table_rows  # bench/floor.py, beside this file
from seed import PASSWORD, caseload_email  # bench/seed.py

from clinic import create_app, dashboard
from clinic.models import Administration, SubmissionRevision, User
from clinic.timeutil import local_today

HERE = Path(__file__).resolve().parent
CONFIG = HERE.parent / "deploy" / "gunicorn.conf.py"


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


def _own_mb(pid: int) -> tuple[float, float]:
    """A worker's private memory (what it shares with nobody) and its proportional share
    (private plus its part of what it shares with the master and its siblings), in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:]:
        name, value, *_ = line.split()
        fields[name.rstrip(":")] = int(value)
    return (fields["Private_Clean"] + fields["Private_Dirty"]) / 1024, fields["Pss"] / 1024


def _workers(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


class _OwnMemory(threading.Thread):
    """Samples each worker's private and proportional memory every half second; keeps each
    one's peaks."""

    def __init__(self, master: int) -> None:
        super().__init__(daemon=True)
        self.master, self.done = master, threading.Event()
        self.private: dict[int, float] = {}
        self.pss: dict[int, float] = {}

    def run(self) -> None:
        while not self.done.wait(0.5):
            for pid in _workers(self.master):
                try:
                    private, pss = _own_mb(pid)
                except (FileNotFoundError, ProcessLookupError):
                    continue
                self.private[pid] = max(self.private.get(pid, 0.0), private)
                self.pss[pid] = max(self.pss.get(pid, 0.0), pss)


def _gunicorn(
    app: str, port: int, workers: int, env: dict[str, str], log: Path
) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            str(CONFIG),
            "--workers",
            str(workers),
            "--bind",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "-",
            "--error-logfile",
            str(log.with_suffix(".err")),
            app,
        ],
        env=env,
        cwd=HERE,
        stdout=open(log, "w"),
    )


def _stop(server: subprocess.Popen[bytes]) -> None:
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=30)


def _hammer(port: int, path: str, cookie: str, seconds: float, connections: int) -> float:
    """Requests per second answered 200 when `connections` clients ask one after another as
    fast as the server answers."""
    done = [0] * connections
    failed = [0] * connections
    end = time.monotonic() + seconds

    def client(i: int) -> None:
        while time.monotonic() < end:
            conn = HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
            response = conn.getresponse()
            response.read()
            conn.close()
            if response.status == 200:
                done[i] += 1
            else:
                failed[i] += 1

    threads = [threading.Thread(target=client, args=(i,)) for i in range(connections)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if sum(failed):
        raise SystemExit(f"{sum(failed)} requests to {path} did not answer 200")
    return sum(done) / (time.monotonic() - start)


def _session_cookie(port: int, email: str) -> str:
    """Sign in through the form (with its CSRF token), as a browser would; the cookie header."""
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/sign-in")
    page = conn.getresponse()
    html = page.read().decode()
    cookies = {c.split(";")[0] for c in page.headers.get_all("Set-Cookie") or []}
    token = html.split('name="csrf_token"')[1].split('value="')[1].split('"')[0]
    body = urlencode({"email": email, "password": PASSWORD, "csrf_token": token})
    conn = HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request(
        "POST",
        "/sign-in",
        body=body,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": "; ".join(cookies),
        },
    )
    answer = conn.getresponse()
    answer.read()
    if answer.status != 302:
        raise SystemExit(f"could not sign in as {email} ({answer.status})")
    cookies = {c.split(";")[0] for c in answer.headers.get_all("Set-Cookie") or []} or cookies
    return "; ".join(cookies)


def race(url: str, env: dict[str, str], out: Path, args: argparse.Namespace) -> dict[str, float]:
    """Bedrock's dashboard against the bare table route, the same workers each, alternating."""
    email = caseload_email(args.race_caseload)
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32})
    with app.app_context():
        db = app.extensions["clinic.db"]()
        therapist = db.scalar(sa.select(User).where(User.email == email))
        if therapist is None:
            raise SystemExit(f"No caseload of {args.race_caseload} here (seed bench/seed.py).")
        rows = table_rows(
            dashboard.caseload(
                db,
                therapist,
                local_today(therapist),
                __import__("datetime").datetime.now(__import__("datetime").UTC),
            )
        )
        db.close()
        app.extensions["clinic.db"].kw["bind"].dispose()
    (out / "floor-rows.json").write_text(json.dumps(rows))
    floor_env = env | {"BENCH_FLOOR_ROWS": str(out / "floor-rows.json")}
    rates: dict[str, list[float]] = {"bedrock": [], "floor": []}
    for _ in range(2):
        for name in ("bedrock", "floor"):
            port = args.port + 1
            server = _gunicorn(
                "clinic:create_app()" if name == "bedrock" else "floor:from_file()",
                port,
                args.race_workers,
                env if name == "bedrock" else floor_env,
                out / f"race-{name}.log",
            )
            try:
                _wait_for(port)
                cookie = _session_cookie(port, email) if name == "bedrock" else ""
                path = "/therapist/" if name == "bedrock" else "/table"
                _hammer(port, path, cookie, 2, args.race_connections)  # warm every worker
                rates[name].append(
                    _hammer(port, path, cookie, args.race_seconds, args.race_connections)
                )
            finally:
                _stop(server)
    bedrock, floor = max(rates["bedrock"]), max(rates["floor"])
    return {
        "caseload": args.race_caseload,
        "workers": args.race_workers,
        "bedrock_per_s": round(bedrock, 1),
        "floor_per_s": round(floor, 1),
        "share": round(bedrock / floor, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--users", type=int, default=24)
    parser.add_argument("--duration", type=int, default=60, help="seconds")
    parser.add_argument("--port", type=int, default=5300)
    parser.add_argument("--race-workers", type=int, default=2)
    parser.add_argument("--race-seconds", type=float, default=15)
    parser.add_argument("--race-connections", type=int, default=4)
    parser.add_argument("--race-caseload", type=int, default=150)
    parser.add_argument("--no-race", action="store_true", help="Skip the race with the floor.")
    parser.add_argument("--race-only", action="store_true", help="Only race the floor.")
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
    if args.race_only:
        r = race(args.database_url, env, out, args)
        print(
            f"Race, {r['workers']} workers each, dashboard of {r['caseload']} clients: Bedrock "
            f"{r['bedrock_per_s']}/s, bare table route {r['floor_per_s']}/s: "
            f"{r['share']:.0%} of the floor's throughput (target at least 30%)"
        )
        return
    before = _rows(args.database_url)
    server = _gunicorn("clinic:create_app()", args.port, args.workers, env, out / "access.log")
    try:
        _wait_for(args.port)
        own = _OwnMemory(server.pid)
        own.start()
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
        own.done.set()
        own.join()
        children = _workers(server.pid)
        memory = [round(_peak_rss_mb(pid), 1) for pid in children]
        own_memory = [round(own.private.get(pid, 0.0), 1) for pid in children]
        pss_memory = [round(own.pss.get(pid, 0.0), 1) for pid in children]
        master_mb = round(_peak_rss_mb(server.pid), 1)
    finally:
        _stop(server)
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
    print(
        f"peak resident memory per worker (MB): {memory} (the master: {master_mb}; a worker's "
        f"resident memory counts what it shares with the master)"
    )
    print(
        f"peak proportional memory per worker (MB, shared pages split among sharers): {pss_memory}"
    )
    print(f"peak private memory per worker (MB, not shared with the master): {own_memory}")
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
        "worker_peak_private_mb": own_memory,
        "worker_peak_pss_mb": pss_memory,
        "master_peak_rss_mb": master_mb,
        "accepted": accepted,
        "stored": stored,
    }
    if not args.no_race:
        report["race"] = race(args.database_url, env, out, args)
        r = report["race"]
        print(
            f"Race, {r['workers']} workers each, dashboard of {r['caseload']} clients: Bedrock "
            f"{r['bedrock_per_s']}/s, bare table route {r['floor_per_s']}/s: "
            f"{r['share']:.0%} of the floor's throughput (target at least 30%)"
        )
    (HERE / "load-results.json").write_text(json.dumps(report, indent=2) + "\n")
    if server_errors or any(lost.values()):
        raise SystemExit("FAILED: server errors or lost writes")


if __name__ == "__main__":
    main()
