"""Measures that fit the client (issue #15, part 5): battery measures left out of a plan, the
WSAS work item for people who are retired or not working by choice, the client's own words for
"[problem]", and the trust check-in in the battery weeks."""

from __future__ import annotations

import csv
import io
import json

import pytest
import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import episodes, measures, plans, progress, questionnaires
from clinic.models import Administration, AuditEvent

from .test_auth import page_text
from .test_questionnaires import browser, care  # noqa: F401 (care is a fixture)
from .test_reports import pdf_text

RETIRED = "I'm retired or choose not to work (not because of my difficulties)"


def record_of(c, client):  # type: ignore[no-untyped-def]
    return c.get(f"/therapist/clients/{client.id}")


def set_measures(c, client, **data):  # type: ignore[no-untyped-def]
    return c.post(f"/therapist/clients/{client.id}/plan/measures", data=data)


# --- 1. a battery measure left out of a plan ----------------------------------------------------


def test_the_therapist_leaves_csi4_out_of_the_batteries_and_puts_it_back(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    plan = at_week(1)
    t = browser(app, therapist)
    record = BeautifulSoup(record_of(t, client).data, "html.parser")
    box = record.find("input", {"name": "left_out", "value": "csi4"})
    assert box is not None and not box.has_attr("checked")
    # PHQ-9 and GAD-7 are not offered: they carry the safety item and the NHS outcome.
    offered = {i["value"] for i in record.find_all("input", {"name": "left_out"})}
    assert offered == {"wsas", "csi4"}

    response = set_measures(t, client, left_out="csi4")
    assert response.status_code == 302
    record = page_text(t.get(response.headers["Location"]))
    assert "Left out of this plan's batteries: CSI-4" in record
    c = browser(app, client)
    home = page_text(c.get("/me/"))
    assert "PHQ-9" in home and "WSAS" in home and "CSI-4" not in home
    assert c.get("/me/questionnaires/week/1/csi4").status_code == 404
    db.refresh(plan)
    assert plan.left_out_measures == ["csi4"]
    changes = db.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "change", AuditEvent.object_type == "plan")
    ).all()
    assert [(e.object_id, e.user_id) for e in changes] == [(plan.id, therapist.id)]

    assert set_measures(t, client).status_code == 302  # nothing ticked: every measure given
    assert "CSI-4" in page_text(c.get("/me/"))
    assert c.get("/me/questionnaires/week/1/csi4").status_code == 200


def test_phq9_and_gad7_cannot_be_left_out(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    plan = at_week(1)
    t = browser(app, therapist)
    response = set_measures(t, client, left_out=["phq9", "csi4"])
    assert response.status_code == 422
    assert "PHQ-9 and GAD-7 are always given" in page_text(response)
    db.refresh(plan)
    assert plan.left_out_measures == []
    with app.app_context():
        with pytest.raises(plans.PlanError, match="always given"):
            plans.fit_measures(db, plan, left_out=["gad7"], problem="")
        dues, _ = questionnaires.scheduled(db, plan, 1)
    assert [d.code for d in dues] == ["phq9", "gad7", "wsas", "csi4"]


# --- 2. the WSAS work item for people retired or not working by choice ---------------------------


def test_a_retired_client_skips_the_work_item_and_is_scored_out_of_32(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    at_week(1)
    c = browser(app, client)
    page = c.get("/me/questionnaires/week/1/wsas")
    assert RETIRED in page_text(page)
    # Ticking the box without answering question 1 is complete; not ticking is not.
    missing = c.post("/me/questionnaires/week/1/wsas", data={f"item-{k}": "5" for k in "2345"})
    assert missing.status_code == 422
    assert "Please choose an answer for question 1" in page_text(missing)
    data = {f"item-{k}": "5" for k in "2345"} | {"not_applicable-1": "y"}
    response = c.post("/me/questionnaires/week/1/wsas", data=data)
    assert response.status_code == 302
    done = page_text(c.get(response.headers["Location"]))
    assert "Your score was 20 out of 32" in done
    row = db.scalars(sa.select(Administration)).one()
    assert row.answers["1"] == "not_applicable" and row.total == 20 and row.out_of == 32
    # Banded as if out of 40 (20 × 40/32 = 25): the NHS Data Dictionary's substitution of the
    # mean of the answered items. On the raw total it would read "significant impairment".
    assert row.band == "moderately severe or worse"


def test_a_work_answer_sent_with_the_tick_is_not_kept(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    at_week(1)
    t = browser(app, therapist)
    data = {f"item-{k}": "1" for k in "12345"} | {"not_applicable-1": "y"}
    response = t.post(f"/therapist/clients/{client.id}/questionnaires/wsas/in-session", data=data)
    assert response.status_code == 302
    assert "WSAS recorded: 4 of 32 (subclinical)" in page_text(t.get(response.headers["Location"]))
    row = db.scalars(sa.select(Administration)).one()
    assert row.answers["1"] == "not_applicable" and row.total == 4


def test_the_skipped_work_item_reads_as_not_applicable_in_charts_and_exports(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    at_week(1)
    c = browser(app, client)
    data = {f"item-{k}": "4" for k in "2345"} | {"not_applicable-1": "y"}
    assert c.post("/me/questionnaires/week/1/wsas", data=data).status_code == 302
    t = browser(app, therapist)
    record = page_text(record_of(t, client))
    assert "16 of 32 (significant impairment)" in record  # the chart's table and the week
    rows = list(
        csv.reader(
            io.StringIO(
                t.get(f"/therapist/clients/{client.id}/questionnaires.csv").data.decode("utf-8-sig")
            )
        )
    )
    header, [row] = rows[0], rows[1:]
    assert row[header.index("total")] == "16" and row[header.index("out_of")] == "32"
    assert row[header.index("item_1")] == "not_applicable"
    bundle = json.loads(t.get(f"/therapist/clients/{client.id}/fhir.json").data)
    [response] = [
        e["resource"] for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]  # fmt: skip
    assert [i["linkId"] for i in response["item"]] == ["2", "3", "4", "5"]
    report = pdf_text(t.get(f"/therapist/clients/{client.id}/progress-report.pdf").data)
    assert "16 of 32" in report and "significant impairment" in report
    # The chart plots it on the 40-point scale (16 × 40/32 = 20), inside its band's shading.
    with app.app_context():
        [view] = [v for v in progress.measure_charts(db, client) if v.code == "wsas"]
        course = episodes.courses(db, client, episodes.episode(db, client))["wsas"]
        chart = progress.instrument_chart(
            measures.instrument("wsas"),
            [(p.day, p) for p in course.scores],
            title="",
            cutoff_label="",
        )
    assert view.rows[0][2] == "16 of 32 (significant impairment)"
    assert [p.value for p in chart.points] == [20]


# --- 3. the client's own words for "[problem]" --------------------------------------------------


def test_wsas_items_use_the_wording_the_therapist_sets(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    plan = at_week(1)
    c = browser(app, client)
    page = page_text(c.get("/me/questionnaires/week/1/wsas"))
    assert "Because of my difficulties with trust my home management" in page
    assert "[problem]" not in page
    t = browser(app, therapist)
    words = "my fear that <b>Sam</b> & Jo are lying — 私の不安"
    assert set_measures(t, client, problem=words).status_code == 302
    raw = c.get("/me/questionnaires/week/1/wsas").data.decode()
    assert "&lt;b&gt;Sam&lt;/b&gt; &amp; Jo" in raw and "<b>Sam</b>" not in raw
    assert f"Because of {words} my home management" in page_text(
        c.get("/me/questionnaires/week/1/wsas")
    )
    inside = page_text(t.get(f"/therapist/clients/{client.id}/questionnaires/wsas/in-session"))
    assert f"Because of {words}, my private leisure" in inside
    db.refresh(plan)
    assert plan.problem_wording == words
    data = {f"item-{k}": "2" for k in "12345"}
    assert c.post("/me/questionnaires/week/1/wsas", data=data).status_code == 302
    bundle = json.loads(t.get(f"/therapist/clients/{client.id}/fhir.json").data)
    [response] = [
        e["resource"] for e in bundle["entry"]
        if e["resource"]["resourceType"] == "QuestionnaireResponse"
    ]  # fmt: skip
    assert response["item"][0]["text"].startswith(f"Because of {words} my ability to work")


def test_too_long_a_wording_is_refused_next_to_the_field_with_the_typing_kept(app, db, care):  # noqa: F811
    therapist, client, at_week = care
    plan = at_week(1)
    t = browser(app, therapist)
    typed = "my " + "x" * 78
    response = set_measures(t, client, problem=typed, left_out="csi4")
    assert response.status_code == 422
    soup = BeautifulSoup(response.data, "html.parser")
    field = soup.find("input", {"name": "problem"})
    assert field["value"] == typed and field["aria-invalid"] == "true"
    assert "Use at most 80 characters." in soup.find(id=field["aria-describedby"].split()[-1]).text
    db.refresh(plan)
    assert plan.problem_wording is None and plan.left_out_measures == []


# --- 4. the trust check-in in weeks 1, 6 and 12 ---------------------------------------------------


@pytest.mark.parametrize("week", [1, 6, 12])
def test_the_battery_weeks_offer_the_trust_check_in_too(app, db, care, week):  # noqa: F811
    therapist, client, at_week = care
    at_week(week)
    c = browser(app, client)
    home = BeautifulSoup(c.get("/me/").data, "html.parser")
    assert home.find("a", href=f"/me/check-in/{week}") is not None
    assert "WSAS" in home.get_text()
    assert c.get(f"/me/check-in/{week}").status_code == 200
    done = c.post(f"/me/check-in/{week}", data={"trust": "6", "distress": "3"})
    assert done.status_code == 302


def spread(total: int) -> dict[str, int | str]:
    """WSAS answers without the work item whose four items add up to `total`."""
    values = [min(8, max(0, total - 8 * i)) for i in range(4)]
    return {"1": measures.NOT_APPLICABLE} | {str(k + 2): v for k, v in enumerate(values)}


def test_the_four_item_wsas_is_banded_on_the_40_point_scale_prorated():
    bands = {t: measures.score("wsas", spread(t)) for t in (0, 7, 8, 16, 17, 32)}
    assert {t: s.band for t, s in bands.items()} == {
        0: "subclinical",
        7: "subclinical",  # 8.75 of 40
        8: "significant impairment",  # 10 of 40
        16: "significant impairment",  # 20 of 40
        17: "moderately severe or worse",  # 21.25 of 40
        32: "moderately severe or worse",
    }
    assert all(s.out_of == 32 and s.total == t for t, s in bands.items())
    # Every item answered: out of 40 as before; the tick is refused on items without one.
    full = measures.score("wsas", {str(k): 4 for k in range(1, 6)})
    assert (full.total, full.out_of, full.band) == (20, None, "significant impairment")
    with pytest.raises(ValueError):
        measures.score("wsas", {"1": 4, "2": measures.NOT_APPLICABLE, "3": 1, "4": 1, "5": 1})
