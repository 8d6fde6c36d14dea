"""Exports read back the way the tools clinicians use would read them: CSV bytes as Excel
opens them (UTF-8 with a byte-order mark, ISO dates, one column per questionnaire item), the
weekly check-ins, and the FHIR bundle validated against the R4B models."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import zipfile

import pytest

from clinic import exports, plans, questionnaires
from clinic.models import Role

from .conftest import record_screen
from .test_reports import _thought_record, browser

BOM = b"\xef\xbb\xbf"
NAME = "Zoë Ōtākou 李小龍"
NOTE = "=SUM(A1) 這週比較好 — the long week is over"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _moment(day: dt.date) -> dt.datetime:
    """Noon UTC: already the next calendar day in Auckland (UTC+12 or +13)."""
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture
def exported(app, db, make_user):  # type: ignore[no-untyped-def]
    """A client in Auckland (name in three scripts) with PHQ-9, GAD-7 and WSAS answered, two
    weekly check-ins (one without the homework rating, one with a note) and a reviewed
    thought record; every moment at noon UTC ten days ago, so the local date is the next."""
    therapist = make_user(Role.THERAPIST, name="Dr Rivers")
    client = make_user(Role.CLIENT, therapist=therapist, name=NAME)
    client.time_zone = "Pacific/Auckland"
    first = dt.date.today() - dt.timedelta(days=7 * 2)
    day = dt.date.today() - dt.timedelta(days=10)
    with app.app_context():
        record_screen(db, client, therapist, on=dt.date(2000, 1, 1))
        plan = plans.start_plan(db, client, therapist, first, first.weekday())
        phq, _ = questionnaires.complete(
            db,
            client,
            "phq9",
            {**{str(i): 2 for i in range(1, 9)}, "9": 0, "difficulty": 1},
            client,
            plan=plan,
            week=1,
            slot="baseline",
        )
        gad, _ = questionnaires.complete(
            db, client, "gad7", {str(i): i % 4 for i in range(1, 8)}, client, plan=plan, week=1
        )
        wsas, _ = questionnaires.complete(
            db, client, "wsas", {str(i): 8 - i for i in range(1, 6)}, client
        )
        for n, a in enumerate((phq, gad, wsas)):
            a.completed_at = _moment(day) + dt.timedelta(minutes=n)
        one, _ = questionnaires.record_check_in(
            db, client, plan, 1, client, trust=7, distress=4, helpfulness=None, note=None
        )
        two, _ = questionnaires.record_check_in(
            db, client, plan, 2, client, trust=8, distress=3, helpfulness=3, note=NOTE
        )
        one.created_at = _moment(day)
        two.created_at = _moment(day + dt.timedelta(days=7))
        ws = plans.worksheet(db, "thought_record")
        a = next(x for x in plan.assignments if x.worksheet_key == "thought_record")
        sub = plans.submit(db, a, client, _thought_record(ws), 0)
        plans.review(db, sub, therapist, completion="all", quality=3, feedback="Careful work.")
        sub.submitted_at = _moment(day)
        sub.reviewed_at = _moment(day) + dt.timedelta(hours=1)
        db.commit()
    return therapist, client, day


def _table(data: bytes) -> list[dict[str, str]]:
    """CSV bytes as Excel reads them: the BOM says UTF-8 and is not part of the first name."""
    assert data.startswith(BOM), data[:20]
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


# --- CSV: encoding ------------------------------------------------------------------------------


def test_every_csv_download_is_utf8_with_a_bom_so_excel_shows_every_script(
    app, db, make_user, exported
):
    therapist, client, _ = exported
    web = browser(app, therapist)
    for url in (
        f"/therapist/clients/{client.id}/questionnaires.csv",
        f"/therapist/clients/{client.id}/homework.csv",
        f"/therapist/clients/{client.id}/check-ins.csv",
        "/therapist/exports/questionnaires.csv",
        "/therapist/exports/homework.csv",
    ):
        response = web.get(url)
        assert response.status_code == 200, url
        assert response.mimetype == "text/csv"
        rows = _table(response.data)
        assert rows and all(r["client"] == NAME for r in rows), url
        assert "client_id" in rows[0]  # the first column keeps its name
    admin = browser(app, make_user(Role.ADMIN))
    audit_log = admin.get("/admin/audit.csv")
    assert audit_log.status_code == 200 and _table(audit_log.data)


@pytest.mark.parametrize("who", ["therapist", "client"])
def test_every_csv_in_the_record_zip_has_a_bom_and_the_check_ins_are_in_both_copies(
    app, exported, who
):
    therapist, client, _ = exported
    if who == "therapist":
        data = browser(app, therapist).get(f"/therapist/clients/{client.id}/record.zip").data
    else:
        data = browser(app, client).get("/me/my-record.zip").data
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = [n for n in archive.namelist() if n.endswith(".csv")]
    assert "check-ins.csv" in names
    for name in names:
        assert archive.read(name).startswith(BOM), name
    check_ins = _table(archive.read("check-ins.csv"))
    assert [r["plan_week"] for r in check_ins] == ["1", "2"]
    assert check_ins[1]["note"] == "'" + NOTE  # the client's own words, never a formula
    assert "check-ins.csv" in archive.read("README.txt").decode()


def test_export_reports_writes_csv_excel_reads_as_utf8(app, exported, tmp_path):
    therapist, client, _ = exported
    out = tmp_path / "month-end"
    result = app.test_cli_runner().invoke(
        args=["export-reports", "--therapist", therapist.email, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    written = sorted(out.glob("bedrock-client-*.csv"))
    assert {p.name for p in written} == {
        f"bedrock-client-{client.id}-{kind}.csv"
        for kind in ("questionnaires", "homework", "check-ins")
    }
    assert (out / "index.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    for path in written:
        rows = _table(path.read_bytes())
        assert rows and rows[0]["client"] == NAME


# --- CSV: dates and columns ---------------------------------------------------------------------


def test_csv_dates_are_local_iso_dates_next_to_the_utc_timestamps(app, exported):
    therapist, client, day = exported
    local = (day + dt.timedelta(days=1)).isoformat()  # noon UTC is after midnight in Auckland
    web = browser(app, therapist)
    base = f"/therapist/clients/{client.id}"
    answered = _table(web.get(f"{base}/questionnaires.csv").data)
    assert {r["completed_on_local"] for r in answered} == {local}
    assert answered[0]["completed_at_utc"].startswith(f"{day.isoformat()}T12:00:00")
    homework = _table(web.get(f"{base}/homework.csv").data)[0]
    assert homework["submitted_on_local"] == homework["reviewed_on_local"] == local
    assert homework["submitted_at_utc"] == f"{day.isoformat()}T12:00:00+00:00"
    assert ISO_DATE.match(homework["due_on"])
    check_ins = _table(web.get(f"{base}/check-ins.csv").data)
    assert check_ins[0]["checked_in_on_local"] == local
    assert check_ins[0]["checked_in_at_utc"] == f"{day.isoformat()}T12:00:00+00:00"
    for row in (*answered, homework, *check_ins):
        for name, value in row.items():
            if name.endswith(("_on_local", "_on")) and value:
                assert ISO_DATE.match(value), (name, value)


def test_questionnaire_csv_has_one_numeric_column_per_item(app, db, make_user, exported):
    therapist, client, _ = exported
    text = browser(app, therapist).get(f"/therapist/clients/{client.id}/questionnaires.csv").data
    header = text.decode("utf-8-sig").splitlines()[0].split(",")
    rows = {r["instrument"]: r for r in _table(text)}
    assert "item_answers" not in header
    # The widest instrument (PHQ-9) sets the columns; the others leave the rest blank.
    items = [h for h in header if h.startswith("item_")]
    assert items == [f"item_{n}" for n in range(1, 10)]
    assert [rows["phq9"][f"item_{n}"] for n in range(1, 10)] == ["2"] * 8 + ["0"]
    assert rows["phq9"]["extra_difficulty"] == "1"  # recorded, not scored
    assert [rows["gad7"][f"item_{n}"] for n in range(1, 10)] == [*"1230123", "", ""]
    assert [rows["wsas"][f"item_{n}"] for n in range(1, 6)] == ["7", "6", "5", "4", "3"]
    assert rows["wsas"]["item_6"] == "" and rows["wsas"]["extra_difficulty"] == ""
    assert rows["phq9"]["total"] == "16" and rows["gad7"]["total"] == "12"
    line = next(li for li in text.decode("utf-8-sig").splitlines() if ",phq9," in li)
    assert ",2,2,2,2,2,2,2,2,0," in line  # plain numbers: no quote, no formula prefix


def test_caseload_csv_lines_up_items_of_different_instruments(app, db, make_user, exported):
    therapist, client, _ = exported
    second = make_user(Role.CLIENT, therapist=therapist, name="Second")
    with app.app_context():
        questionnaires.complete(db, second, "csi4", {"1": 6, "2": 5, "3": 0, "4": 1}, second)
        db.commit()
    rows = _table(browser(app, therapist).get("/therapist/exports/questionnaires.csv").data)
    csi = next(r for r in rows if r["instrument"] == "csi4")
    assert csi["client"] == "Second"
    assert [csi[f"item_{n}"] for n in range(1, 10)] == ["6", "5", "0", "1"] + [""] * 5
    assert {r["instrument"] for r in rows} == {"phq9", "gad7", "wsas", "csi4"}


def test_the_clients_copy_keeps_their_item_answers_when_scores_are_hidden(app, db, exported):
    _, client, _ = exported
    client.practice.clients_see_scores = False
    db.commit()
    archive = zipfile.ZipFile(io.BytesIO(browser(app, client).get("/me/my-record.zip").data))
    phq = next(r for r in _table(archive.read("questionnaires.csv")) if r["instrument"] == "phq9")
    assert "total" not in phq and "band" not in phq and "flags" not in phq
    assert phq["item_1"] == "2" and phq["item_9"] == "0"


# --- check-ins ----------------------------------------------------------------------------------


def test_check_in_csv_has_one_row_per_check_in_with_every_rating(app, db, make_user, exported):
    therapist, client, day = exported
    url = f"/therapist/clients/{client.id}/check-ins.csv"
    assert browser(app, make_user(Role.THERAPIST)).get(url).status_code == 404
    response = browser(app, therapist).get(url)
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="bedrock-client-{client.id}-check-ins.csv"'
    )
    rows = _table(response.data)
    assert [(r["plan_week"], r["trust"], r["distress"], r["helpfulness"]) for r in rows] == [
        ("1", "7", "4", ""),  # the homework rating was left out: blank, not 0
        ("2", "8", "3", "3"),
    ]
    assert rows[1]["checked_in_on_local"] == (day + dt.timedelta(days=8)).isoformat()
    assert rows[0]["note"] == "" and rows[1]["note"] == "'" + NOTE
    page = browser(app, therapist).get(f"/therapist/clients/{client.id}").get_data(as_text=True)
    assert url in page  # offered with the other downloads


# --- FHIR ---------------------------------------------------------------------------------------

SCORE = {"system": "http://unitsofmeasure.org", "code": "{score}", "unit": "{score}"}
GAD7_ITEMS = ["69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7"]


def _bundle(app, therapist, client):  # type: ignore[no-untyped-def]
    from fhir.resources.R4B.bundle import Bundle

    data = json.loads(browser(app, therapist).get(f"/therapist/clients/{client.id}/fhir.json").data)
    Bundle.model_validate(data)  # raises on anything invalid
    return data, [e["resource"] for e in data["entry"]]


def test_fhir_totals_carry_loincs_own_names_and_a_ucum_score(app, exported):
    therapist, client, _ = exported
    _, resources = _bundle(app, therapist, client)
    totals = {
        o["code"]["coding"][0]["code"]: o
        for o in resources
        if o["resourceType"] == "Observation" and "valueQuantity" in o
    }
    # Long common names as LOINC publishes them (loinc.org term pages 44261-6 and 69729-2).
    assert totals["44261-6"]["code"]["coding"][0]["display"] == (
        "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]"
    )
    assert totals["70274-6"]["code"]["coding"][0]["display"] == (
        "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]"
    )
    assert totals["44261-6"]["valueQuantity"] == {"value": 16, **SCORE}
    assert totals["70274-6"]["valueQuantity"] == {"value": 12, **SCORE}
    assert totals["wsas-total"]["valueQuantity"]["value"] == 25
    assert not any("valueInteger" in o for o in totals.values())


def test_fhir_gad7_items_carry_the_loinc_item_codes(app, exported):
    therapist, client, _ = exported
    _, resources = _bundle(app, therapist, client)
    gad = next(
        r
        for r in resources
        if r["resourceType"] == "QuestionnaireResponse"
        and len([i for i in r["item"] if i["linkId"] != "difficulty"]) == 7
    )
    assert [i.get("definition") for i in gad["item"] if i["linkId"] != "difficulty"] == [
        f"http://loinc.org/{code}" for code in GAD7_ITEMS
    ]


def test_fhir_bundle_holds_the_questionnaire_each_response_refers_to(app, exported):
    from fhir.resources.R4B.questionnaire import Questionnaire

    therapist, client, _ = exported
    _, resources = _bundle(app, therapist, client)
    defined = {}
    for q in (r for r in resources if r["resourceType"] == "Questionnaire"):
        Questionnaire.model_validate(q)
        defined[f"{q['url']}|{q['version']}"] = q
    responses = [r for r in resources if r["resourceType"] == "QuestionnaireResponse"]
    assert len(responses) == 3 and len(defined) == 3
    for response in responses:
        q = defined[response["questionnaire"]]  # every canonical resolves inside the bundle
        options = {i["linkId"]: i for i in q["item"]}
        for item in response["item"]:
            asked = options[item["linkId"]]
            assert asked["text"] == item["text"]
            assert item["answer"][0]["valueCoding"] in [
                o["valueCoding"] for o in asked["answerOption"]
            ]
    phq = next(q for q in defined.values() if q["code"][0]["code"] == "44249-1")
    assert phq["code"][0] == {
        "system": "http://loinc.org",
        "code": "44249-1",
        "display": "PHQ-9 quick depression assessment panel [Reported.PHQ]",
    }
    assert phq["item"][8]["code"][0]["code"] == "44260-8"  # item 9
    gad = next(q for q in defined.values() if q["code"][0]["code"] == "69737-5")
    assert gad["code"][0]["display"] == "Generalized anxiety disorder 7 item (GAD-7)"
    assert [i["code"][0]["code"] for i in gad["item"][:7]] == GAD7_ITEMS
    wsas = next(q for q in defined.values() if q["name"] == "WSAS")
    assert "code" not in wsas  # no verified LOINC panel: nothing guessed


def test_fhir_check_ins_are_observations_in_a_local_code_system(app, exported):
    therapist, client, _ = exported
    _, resources = _bundle(app, therapist, client)
    check_ins = [
        o
        for o in resources
        if o["resourceType"] == "Observation"
        and o["code"]["coding"][0]["system"] == "urn:bedrock:check-in"
    ]
    assert len(check_ins) == 2
    coding = check_ins[0]["code"]["coding"][0]
    assert coding["code"] == "weekly-check-in"
    assert "not a validated scale" in coding["display"]
    ratings = {
        c["code"]["coding"][0]["code"]: c.get("valueInteger") for c in check_ins[1]["component"]
    }
    assert ratings == {"trust": 8, "distress": 3, "helpfulness": 3}
    assert {c["code"]["coding"][0]["code"] for c in check_ins[0]["component"]} == {
        "trust",
        "distress",
    }  # an unanswered rating is left out, not sent as 0
    assert check_ins[1]["note"] == [{"text": NOTE}]
    assert all(
        "not a validated scale" in c["code"]["coding"][0]["display"]
        for o in check_ins
        for c in o["component"]
    )


def test_the_record_zip_is_the_same_bytes_for_the_same_record(app, db, exported):
    _, client, _ = exported
    now = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
    with app.app_context():
        for for_client in (False, True):
            first = exports.record_bundle(db, client, now.date(), now, for_client=for_client)
            again = exports.record_bundle(db, client, now.date(), now, for_client=for_client)
            assert first == again
