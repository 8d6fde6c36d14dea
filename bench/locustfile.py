"""The mixed workload of bench/load.py: therapists and clients of the seeded bench practice
signing in for real and working as they would.

Therapists look at their dashboard and client records, download session summaries and
progress reports, and send a client a PHQ-9. Clients open This week, answer any questionnaire
sent to them and send (or correct) a worksheet. Every write that the server accepts is counted,
so bench/load.py can check afterwards that each one is in the database."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import secrets
import threading
from html import unescape

from locust import HttpUser, between, events, task

from clinic.library import CONTENT_DIR, load_library

DOMAIN = "bench.test"
PASSWORD = "bench practice password"
THERAPISTS = int(os.environ.get("LOAD_THERAPISTS", "40"))
CLIENTS_PER_THERAPIST = int(os.environ.get("LOAD_CLIENTS_PER_THERAPIST", "30"))
COUNTS_FILE = os.environ.get("LOAD_COUNTS", "load-counts.json")

# Every send in this run differs from every earlier one (an unchanged resend is, rightly,
# not stored again, and would look like a lost write).
RUN = secrets.token_hex(4)
_lock = threading.Lock()
accepted = {"questionnaires": 0, "worksheets": 0, "server_errors": 0}
_therapists = itertools.count(1)
_clients = itertools.count(0)
WORKSHEETS = {ws.title: ws for ws in load_library(CONTENT_DIR).worksheets.values()}


def _count(key: str) -> None:
    with _lock:
        accepted[key] += 1


@events.quitting.add_listener
def _write_counts(environment, **kwargs) -> None:  # type: ignore[no-untyped-def]
    with open(COUNTS_FILE, "w", encoding="utf-8") as fh:
        json.dump(accepted, fh)


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    return found.group(1) if found else ""


class Person(HttpUser):
    abstract = True
    wait_time = between(0.5, 2)
    email = ""

    def sign_in(self) -> None:
        page = self.client.get("/sign-in", name="sign-in page")
        response = self.client.post(
            "/sign-in",
            data={"email": self.email, "password": PASSWORD, "csrf_token": _csrf(page.text)},
            name="sign in",
            allow_redirects=False,
        )
        if response.status_code != 302:
            raise RuntimeError(f"sign-in failed for {self.email}: {response.status_code}")

    def check(self, response) -> None:  # type: ignore[no-untyped-def]
        if response.status_code >= 500:
            _count("server_errors")


class Therapist(Person):
    weight = 1

    def on_start(self) -> None:
        n = (next(_therapists) - 1) % THERAPISTS + 1
        self.email = f"t{n}@{DOMAIN}"
        self.sign_in()
        page = self.client.get("/therapist/", name="dashboard").text
        self.clients = sorted(set(re.findall(r"/therapist/clients/(\d+)\"", page)))

    @task(4)
    def dashboard(self) -> None:
        self.check(self.client.get("/therapist/", name="dashboard"))

    @task(3)
    def record(self) -> None:
        client_id = random.choice(self.clients)
        response = self.client.get(f"/therapist/clients/{client_id}", name="client record")
        self.check(response)
        notes = re.findall(rf"/therapist/clients/{client_id}/notes/(\d+)\"", response.text)
        if notes and random.random() < 0.4:
            self.check(
                self.client.get(
                    f"/therapist/clients/{client_id}/notes/{notes[0]}/summary.pdf",
                    name="session summary PDF",
                )
            )

    @task(1)
    def progress_report(self) -> None:
        client_id = random.choice(self.clients)
        self.check(
            self.client.get(
                f"/therapist/clients/{client_id}/progress-report.pdf", name="progress report PDF"
            )
        )

    @task(1)
    def send_questionnaire(self) -> None:
        client_id = random.choice(self.clients)
        page = self.client.get(f"/therapist/clients/{client_id}", name="client record")
        self.check(page)
        self.check(
            self.client.post(
                f"/therapist/clients/{client_id}/questionnaires/send",
                data={"code": "phq9", "csrf_token": _csrf(page.text)},
                name="send questionnaire",
                allow_redirects=False,
            )
        )


def _valid_answers(ws, marker: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Acceptable answers for every field of a worksheet; the first text field carries a
    marker so that each send changes something (a correction is a new revision)."""
    data: dict[str, str] = {}
    marked = False
    for s in ws.sections:
        rows = range(max(s.min_rows, 1)) if s.repeat else [None]
        for row in rows:
            for f in s.fields:
                name = f"{s.key}-{row}-{f.key}" if s.repeat else f"{s.key}-{f.key}"
                if f.type == "integer":
                    value = str(min(f.max, f.min + 10 * ((row or 0) + 1)))
                elif f.type == "date":
                    value = f"2026-03-{(row or 0) + 1:02d}"
                elif f.type == "choice":
                    value = f.choices[0][0]
                else:
                    value = f"{f.label[:40]} {marker if not marked else ''}".strip()
                    marked = True
                data[name] = value[: f.max_length or 200]
    return data


class Client(Person):
    weight = 3

    def on_start(self) -> None:
        n = next(_clients)
        therapist = n % THERAPISTS + 1
        self.email = f"t{therapist}-{(n // THERAPISTS) % CLIENTS_PER_THERAPIST}@client.{DOMAIN}"
        self.sign_in()
        self.sent = 0

    @task(3)
    def this_week(self) -> None:
        self.check(self.client.get("/me/", name="this week"))

    @task(2)
    def answer_questionnaires(self) -> None:
        page = self.client.get("/me/", name="this week")
        self.check(page)
        # Questionnaires the therapist sent, and the ones the plan schedules this week.
        found = re.findall(r'href="(/me/questionnaires/(?:\d+|week/\d+/\w+))"', page.text)
        for path in sorted(set(found))[:1]:
            form = self.client.get(path, name="questionnaire")
            self.check(form)
            items = sorted(set(re.findall(r'name="(item-[\w-]+)" value="(\d+)"', form.text)))
            if not items:
                continue
            data: dict[str, str] = {}
            for name, value in sorted(items, key=lambda nv: (nv[0], int(nv[1]))):
                data.setdefault(name, value)  # the lowest answer: no alert is raised
            data["csrf_token"] = _csrf(form.text)
            response = self.client.post(
                path, data=data, name="answer questionnaire", allow_redirects=False
            )
            self.check(response)
            if response.status_code == 302 and "/answered" in response.headers.get("Location", ""):
                _count("questionnaires")

    @task(2)
    def send_worksheet(self) -> None:
        links: set[str] = set()
        for path, name in (("/me/", "this week"), ("/me/history", "history")):
            page = self.client.get(path, name=name)
            self.check(page)
            links |= set(re.findall(r"/me/homework/(\d+)\"", page.text))
        for assignment in random.sample(sorted(links), min(3, len(links))):
            form = self.client.get(f"/me/homework/{assignment}", name="worksheet")
            self.check(form)
            title = re.search(r"<h1[^>]*>(.*?)</h1>", form.text, re.S)
            version = re.search(r'name="version"[^>]*value="(\d*)"', form.text)
            ws = WORKSHEETS.get(unescape(title.group(1)).strip()) if title else None
            if ws is None or version is None:
                continue  # reviewed already: nothing to send
            self.sent += 1
            data = _valid_answers(ws, f"({RUN} {self.email} {self.sent})")
            data |= {
                "action": "submit",
                "version": version.group(1),
                "csrf_token": _csrf(form.text),
            }
            response = self.client.post(
                f"/me/homework/{assignment}",
                data=data,
                name="send worksheet",
                allow_redirects=False,
            )
            self.check(response)
            if response.status_code == 302 and "sent=1" in response.headers.get("Location", ""):
                _count("worksheets")
            return
