"""FHIR R4 export of a client's questionnaires and check-ins: a collection Bundle with the
Patient, the Questionnaire of every instrument answered, one QuestionnaireResponse per
completed questionnaire, one Observation per total score and one per weekly check-in.

Codes: LOINC where it is verified (design/measures.md and the instrument files: PHQ-9 panel
44249-1, total 44261-6, items, answers and the difficulty question; GAD-7 panel 69737-5, total
70274-6 and items). Everything else uses Bedrock's own code systems (urn:bedrock:...) rather
than a guessed LOINC code; the check-in is the practice's own rating, not a validated scale,
so it has only a local code. Only elements that mean the same in R4 and R4B are used, so the
output is valid R4. The same record and moment give the same Bundle, byte for byte."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from . import goals, measures, questionnaires, reports
from .models import Administration, CheckIn, User

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
LOCAL_INSTRUMENT = "urn:bedrock:instrument"
LOCAL_ANSWERS = "urn:bedrock:answer"
LOCAL_PATIENT = "urn:bedrock:client"
LOCAL_CHECK_IN = "urn:bedrock:check-in"
# Goal Based Outcome ratings have no LOINC or SNOMED CT code (none found for GBO, 2026-12):
# a local code, with the Goal it rates as the Observation's focus.
LOCAL_GOAL_RATING = "urn:bedrock:goal-rating"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"

# LOINC's own display for the codes sent with one (the Long Common Name, which LOINC's FHIR
# terminology service returns as the display), copied from LOINC's term pages: loinc.org/
# 44261-6 (its name, and 44249-1's in its "member of these panels" table), loinc.org/69729-2
# (70274-6), the Regenstrief-published Questionnaire 69737-5 (its code display), loinc.org/
# LL358-3 and LL359-1 (the answers). A code missing here is sent without a display rather
# than with a made-up one. Item codes go without a display, as in LOINC's own Questionnaires.
LOINC_DISPLAY = {
    "44249-1": "PHQ-9 quick depression assessment panel [Reported.PHQ]",
    "44261-6": "Patient Health Questionnaire 9 item (PHQ-9) total score [Reported]",
    "69737-5": "Generalized anxiety disorder 7 item (GAD-7)",
    "70274-6": "Generalized anxiety disorder 7 item (GAD-7) total score [Reported.PHQ]",
    "LA6568-5": "Not at all",
    "LA6569-3": "Several days",
    "LA6570-1": "More than half the days",
    "LA6571-9": "Nearly every day",
    "LA6572-7": "Not difficult at all",
    "LA6573-5": "Somewhat difficult",
    "LA6575-0": "Very difficult",
    "LA6574-3": "Extremely difficult",
}

# A total score has no unit: UCUM writes that as the annotation {score}, the example unit
# LOINC gives for 44261-6 and 70274-6.
SCORE_UNIT = {"unit": "{score}", "system": UCUM, "code": "{score}"}

# The weekly check-in (design/measures.md): Bedrock's own ratings, not a validated scale.
NOT_VALIDATED = "Bedrock's own rating, not a validated scale"
# The words and anchors are the check-in form's own (client/forms.py CheckInForm).
CHECK_IN_RATINGS = (
    (
        "trust",
        "Felt able to trust the people close to me this week, 0 = not at all, 10 = completely",
    ),
    ("distress", "Distress this week, 0 = not at all, 10 = the most distressed I could be"),
    ("helpfulness", "Helpfulness of last week's homework, 0 = not at all, 4 = extremely"),
)
# Every id is a name-based UUID, so exporting the same record twice gives the same Bundle.
_NAMESPACE = uuid.UUID("6a1f6a52-5d0e-4f61-9e51-2b7f5f0c8e11")


def _urn(kind: str, key: Any) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}:{key}')}"


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _loinc(code: str) -> dict[str, Any]:
    coding = {"system": LOINC, "code": code}
    if code in LOINC_DISPLAY:
        coding["display"] = LOINC_DISPLAY[code]
    return coding


def _questionnaire_url(inst: measures.Instrument) -> str:
    """The canonical URL of Bedrock's Questionnaire for an instrument (the Bundle holds it).
    Not LOINC's http://loinc.org/q/... even where LOINC has a form: its linkIds are not ours,
    so the Questionnaire names LOINC's in derivedFrom instead."""
    return f"{LOCAL_INSTRUMENT}/{inst.code}"


def _total_code(inst: measures.Instrument) -> dict[str, Any]:
    if inst.loinc_total:
        return _loinc(inst.loinc_total)
    return {
        "system": LOCAL_INSTRUMENT,
        "code": f"{inst.code}-total",
        "display": f"{inst.short_name} total score",
    }


def _option_coding(inst: measures.Instrument, option: measures.Option) -> dict[str, Any]:
    """An answer's coding: LOINC's answer code where the instrument file gives one (with
    LOINC's display; an LA code's display is the answer's own words), else Bedrock's."""
    if option.loinc:
        display = LOINC_DISPLAY.get(option.loinc, option.label)
        return {"system": LOINC, "code": option.loinc, "display": display}
    return {
        "system": f"{LOCAL_ANSWERS}/{inst.code}",
        "code": str(option.value),
        "display": option.label,
    }


def _answer(inst: measures.Instrument, item: measures.Item, value: int) -> dict[str, Any]:
    option = next((o for o in item.options if o.value == value), None)
    if option is None:
        option = measures.Option(value, str(value))
    return {"valueCoding": _option_coding(inst, option)}


def patient(client: User) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": f"client-{client.id}",
        "identifier": [{"system": LOCAL_PATIENT, "value": str(client.id)}],
        "name": [{"text": client.display_name}],
        "active": client.active,
    }


def _computable_name(inst: measures.Instrument) -> str:
    """A name a machine can use (FHIR's que-0 pattern): 'PHQ-9' gives 'PHQ9'."""
    name = "".join(ch for ch in inst.short_name if ch.isascii() and (ch.isalnum() or ch == "_"))
    return name if name[:1].isalpha() and name[:1].isupper() else f"Q{name}"


def questionnaire(inst: measures.Instrument, problem: str | None = None) -> dict[str, Any]:
    """The instrument as a FHIR Questionnaire: every question, with its answer options coded
    exactly as the responses code them; with `problem`, worded as this client reads it (their
    own words for "my [problem]"). An item that may not apply to someone is not required."""
    items = []
    for item, required in [(i, True) for i in inst.items] + [(i, False) for i in inst.extra_items]:
        entry: dict[str, Any] = {"linkId": item.key}
        if item.loinc:
            entry["code"] = [{"system": LOINC, "code": item.loinc}]
        entry |= {
            "text": inst.item_text(item, problem) if problem else item.text,
            "type": "choice",
            "required": required and not item.not_applicable,
            "answerOption": [{"valueCoding": _option_coding(inst, o)} for o in item.options],
        }
        items.append(entry)
    resource: dict[str, Any] = {
        "resourceType": "Questionnaire",
        "id": f"instrument-{inst.code.replace('_', '-')}"[:64],
        "url": _questionnaire_url(inst),
        "version": str(inst.version),
        "name": _computable_name(inst),
        "title": inst.name,
        "status": "active",
        "subjectType": ["Patient"],
        "description": inst.instructions,
        "copyright": " ".join(t for t in (inst.attribution, inst.citation) if t),
    }
    if inst.loinc_panel:
        resource["derivedFrom"] = [f"{LOINC}/q/{inst.loinc_panel}"]
        resource["code"] = [_loinc(inst.loinc_panel)]
    resource["item"] = items
    return resource


def questionnaire_response(
    a: Administration, inst: measures.Instrument, patient_ref: str, problem: str
) -> dict[str, Any]:
    """One completed questionnaire: each answered item, with its text as the client read it
    (their own words for "my [problem]"). An item that did not apply to them (the WSAS work
    item, for someone retired) has no answer, so it is left out, as FHIR leaves out any
    unanswered item; the total's Observation says what it is out of."""
    answers = a.answers or {}
    items = []
    for item in (*inst.items, *inst.extra_items):
        value = answers.get(item.key)
        if value is None or value == measures.NOT_APPLICABLE:
            continue
        entry: dict[str, Any] = {
            "linkId": item.key,
            "text": inst.item_text(item, problem),
            "answer": [_answer(inst, item, int(value))],
        }
        if item.loinc:
            entry["definition"] = f"{LOINC}/{item.loinc}"
        items.append(entry)
    assert a.completed_at is not None
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"administration-{a.id}",
        "questionnaire": f"{_questionnaire_url(inst)}|{a.instrument_version}",
        "status": "completed",
        "subject": {"reference": patient_ref},
        "authored": _instant(a.completed_at),
        "item": items,
    }


def observation(
    a: Administration, inst: measures.Instrument, patient_ref: str, response_ref: str
) -> dict[str, Any]:
    assert a.completed_at is not None and a.total is not None
    return {
        "resourceType": "Observation",
        "id": f"total-{a.id}",
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": {"coding": [_total_code(inst)], "text": f"{inst.short_name} total score"},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": _instant(a.completed_at),
        "valueQuantity": {"value": a.total, **SCORE_UNIT},
        "interpretation": [{"text": a.band or inst.band_for(a.total, a.out_of).label}],
        "derivedFrom": [{"reference": response_ref}],
    } | (
        {"note": [{"text": f"Out of {a.out_of}: an item did not apply (banded prorated)."}]}
        if a.out_of
        else {}
    )


def _check_in_code(code: str, display: str) -> dict[str, Any]:
    return {"coding": [{"system": LOCAL_CHECK_IN, "code": code, "display": display}]}


def check_in_observation(c: CheckIn, patient_ref: str) -> dict[str, Any]:
    """A weekly check-in as one Observation: each rating a component (one left unanswered is
    left out, not sent as 0), the client's note as the Observation's note."""
    components = []
    for key, words in CHECK_IN_RATINGS:
        value = getattr(c, key)
        if value is None:
            continue
        components.append(
            {"code": _check_in_code(key, f"{words} ({NOT_VALIDATED})"), "valueInteger": value}
        )
    resource: dict[str, Any] = {
        "resourceType": "Observation",
        "id": f"check-in-{c.id}",
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": _check_in_code(
            "weekly-check-in", "Weekly check-in (Bedrock's own ratings, not a validated scale)"
        )
        | {"text": f"Weekly check-in, plan week {c.week}"},
        "subject": {"reference": patient_ref},
        "effectiveDateTime": _instant(c.created_at),
        "component": components,
    }
    if c.note:
        resource["note"] = [{"text": c.note}]
    return resource


def goal_resource(
    plan_id: int, g: goals.GoalView, client: User, patient_ref: str
) -> dict[str, Any]:
    """One of the client's own goals. A retired goal is 'completed' (FHIR R4: "the goal is no
    longer being sought"), whether it was reached or replaced."""
    return {
        "resourceType": "Goal",
        "id": f"goal-{g.id}",
        "lifecycleStatus": "active" if g.active else "completed",
        "description": {"text": g.wording},
        "subject": {"reference": patient_ref},
        "startDate": g.set_on.isoformat(),
        "note": [
            {
                "text": f"Goal {g.number} of plan {plan_id}, in the client's own words; rated "
                "0 (not at all close) to 10 (reached): Goal Based Outcomes (Law & Jacob 2015)."
            }
        ]
        + ([{"text": f"Retired on {g.retired_on.isoformat()}."}] if g.retired_on else []),
    }


def goal_rating_observation(
    g: goals.GoalView, r: goals.Rating, patient_ref: str, goal_ref: str
) -> dict[str, Any]:
    """One 0-10 rating of a goal, focused on that Goal."""
    return {
        "resourceType": "Observation",
        "id": f"goal-rating-{r.id}",
        "status": "final",
        "category": [
            {"coding": [{"system": OBSERVATION_CATEGORY, "code": "survey", "display": "Survey"}]}
        ],
        "code": {
            "coding": [
                {
                    "system": LOCAL_GOAL_RATING,
                    "code": "goal-rating",
                    "display": "Goal Based Outcome rating (0-10)",
                }
            ],
            "text": f"Goal {g.number}: “{r.wording}”",
        },
        "subject": {"reference": patient_ref},
        "focus": [{"reference": goal_ref}],
        "effectiveDateTime": r.day.isoformat(),
        "valueInteger": r.value,
        "note": [
            {
                "text": "Rated at the weekly check-in"
                if r.context == "check_in"
                else "Rated in session"
            }
        ],
    }


def client_bundle(
    db: Session, client: User, generated: dt.datetime, *, totals: bool = True
) -> dict[str, Any]:
    """The client's Bundle as a JSON-ready dict; without `totals`, only their answers (no
    Observation of a total score). Entries come in a fixed order: the Patient, the
    Questionnaires by instrument code, each response (with its total), then the check-ins, then each goal with its ratings."""
    patient_ref = _urn("patient", client.id)
    known = measures.instruments()
    answered = [
        (a, known[a.instrument_code])
        for a in reports.administrations_in(db, client)
        # an instrument the practice has since removed has no definition left to export
        if a.instrument_code in known
    ]
    entries = [{"fullUrl": patient_ref, "resource": patient(client)}]
    for code in sorted({inst.code for _, inst in answered}):
        entries.append(
            {
                "fullUrl": _urn("questionnaire", code),
                "resource": questionnaire(known[code], questionnaires.problem_for(db, client)),
            }
        )
    for a, inst in answered:
        response_ref = _urn("response", a.id)
        entries.append(
            {
                "fullUrl": response_ref,
                "resource": questionnaire_response(
                    a, inst, patient_ref, questionnaires.problem_for(db, client, a)
                ),
            }
        )
        if totals:
            entries.append(
                {
                    "fullUrl": _urn("observation", a.id),
                    "resource": observation(a, inst, patient_ref, response_ref),
                }
            )
    for c in questionnaires.check_in_series(db, client):
        entries.append(
            {"fullUrl": _urn("check-in", c.id), "resource": check_in_observation(c, patient_ref)}
        )
    for plan, g in goals.client_views(db, client):
        goal_ref = _urn("goal", g.id)
        entries.append(
            {"fullUrl": goal_ref, "resource": goal_resource(plan.id, g, client, patient_ref)}
        )
        for r in g.ratings:
            entries.append(
                {
                    "fullUrl": _urn("goal-rating", r.id),
                    "resource": goal_rating_observation(g, r, patient_ref, goal_ref),
                }
            )
    return {
        "resourceType": "Bundle",
        "id": str(uuid.uuid5(_NAMESPACE, f"bundle:{client.id}")),
        "type": "collection",
        "timestamp": _instant(generated),
        "entry": entries,
    }


def client_bundle_json(
    db: Session, client: User, generated: dt.datetime, *, totals: bool = True
) -> str:
    return json.dumps(
        client_bundle(db, client, generated, totals=totals), indent=2, ensure_ascii=False
    )
