"""The therapist's record leads with the clinical picture: open alerts, scores, homework to
review, the next session, the last signed note and the screen, before the week-by-week timeline
(earlier weeks folded) and before the account and exports."""

from __future__ import annotations

import sqlalchemy as sa
from bs4 import BeautifulSoup

from clinic import questionnaires
from clinic.models import Plan

from .test_notes import session

__all__ = ["session"]


def _words(node) -> str:  # type: ignore[no-untyped-def]
    return " ".join(node.get_text(" ").split())


def test_the_record_opens_on_the_alert_scores_and_homework_to_review(app, db, session):
    therapist, client, t = session
    with app.app_context():
        plan = db.scalars(sa.select(Plan).where(Plan.client_id == client.id)).one()
        questionnaires.complete(
            db, client, "phq9", {str(i): 2 for i in range(1, 10)}, client, plan=plan, week=5,
            slot="fortnightly",
        )  # fmt: skip
        db.commit()
    html = t.get(f"/therapist/clients/{client.id}").data.decode()
    page = BeautifulSoup(html, "html.parser")
    band = page.find("section", class_="summary-band")
    assert band is not None
    text = _words(band)
    # the alert comes with its action, before the account, the exports and the timeline
    links = [a for a in band.find_all("a") if a.get_text().startswith("Acknowledge")]
    assert links and "/alerts/" in links[0]["href"] and "item 9" in text.lower()
    assert html.index("summary-band") < html.index('id="account"')
    assert html.index("summary-band") < html.index('id="weeks"')
    assert html.index("summary-band") < html.index('id="reports"')
    # the latest score, its band as a coloured chip, and the change with its convention
    chip = band.find("a", class_="score-chip")
    assert "PHQ-9 18" in _words(chip) and "moderately severe" in _words(chip)
    assert "sev-3" in chip["class"] or "sev-2" in chip["class"]
    assert "since baseline" in _words(chip) and "Jacobson" in _words(chip)
    assert "Thought record" in text  # sent, not yet reviewed
    assert "Next session" in text and "Last signed note" in text and "None yet" in text
    assert "Suitable" in text  # the screen's outcome
    # earlier weeks are folded (details without open); this week is open
    weeks = {li["id"]: li.find("details") for li in page.select("ol.timeline > li")}
    assert not weeks["week-1"].has_attr("open") and not weeks["week-4"].has_attr("open")
    assert weeks["week-5"].has_attr("open") and weeks["week-6"].has_attr("open")
    assert not weeks["week-7"].has_attr("open") and not weeks["week-12"].has_attr("open")
    # a folded week says what is inside
    folded = [_words(li.find("summary")) for li in page.select("ol.timeline > li")][:4]
    assert any("1 to review" in words for words in folded), folded


def test_a_record_without_alerts_says_so_plainly(app, db, session):
    therapist, client, t = session
    page = BeautifulSoup(t.get(f"/therapist/clients/{client.id}").data, "html.parser")
    band = page.find("section", class_="summary-band")
    assert band.find(class_="band-alerts") is None
    assert "Start today's note" in _words(band)
