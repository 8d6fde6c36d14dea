"""FHIR R4 export of a client's questionnaires: a collection Bundle with the Patient, one
QuestionnaireResponse per completed questionnaire and one Observation per total score.

Codes: LOINC where design/measures.md lists a verified code (PHQ-9 panel 44249-1, total
44261-6, items and answers; GAD-7 panel 69737-5, total 70274-6). Everything else uses
Bedrock's own code systems (urn:bedrock:...) rather than a guessed LOINC code. Only elements
that mean the same in R4 and R4B are used, so the output is valid R4."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

from sqlalchemy.orm import Session

from . import measures, reports
from .models import Administration, User

LOINC = "http://loinc.org"
LOCAL_INSTRUMENT = "urn:bedrock:instrument"
LOCAL_ANSWERS = "urn:bedrock:answer"
LOCAL_PATIENT = "urn:bedrock:client"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
# Every id is a name-based UUID, so exporting the same record twice gives the same Bundle.
_NAMESPACE = uuid.UUID("6a1f6a52-5d0e-4f61-9e51-2b7f5f0c8e11")


def _urn(kind: str, key: Any) -> str:
    return f"urn:uuid:{uuid.uuid5(_NAMESPACE, f'{kind}:{key}')}"


def _instant(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


def _questionnaire_url(inst: measures.Instrument) -> str:
    if inst.loinc_panel:
        return f"{LOINC}/q/{inst.loinc_panel}"
    return f"{LOCAL_INSTRUMENT}/{inst.code}|{inst.version}"


def _total_code(inst: measures.Instrument) -> dict[str, Any]:
    if inst.loinc_total:
        return {
            "system": LOINC,
            "code": inst.loinc_total,
            "display": f"{inst.short_name} total score",
        }
    return {
        "system": LOCAL_INSTRUMENT,
        "code": f"{inst.code}-total",
        "display": f"{inst.short_name} total score",
    }


def _answer(inst: measures.Instrument, item: measures.Item, value: int) -> dict[str, Any]:
    option = next((o for o in item.options if o.value == value), None)
    label = option.label if option else str(value)
    if option is not None and option.loinc:
        coding = {"system": LOINC, "code": option.loinc, "display": label}
    else:
        coding = {"system": f"{LOCAL_ANSWERS}/{inst.code}", "code": str(value), "display": label}
    return {"valueCoding": coding}


def patient(client: User) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": f"client-{client.id}",
        "identifier": [{"system": LOCAL_PATIENT, "value": str(client.id)}],
        "name": [{"text": client.display_name}],
        "active": client.active,
    }


def questionnaire_response(
    a: Administration, inst: measures.Instrument, patient_ref: str
) -> dict[str, Any]:
    answers = a.answers or {}
    items = []
    for item in (*inst.items, *inst.extra_items):
        value = answers.get(item.key)
        if value is None:
            continue
        entry: dict[str, Any] = {
            "linkId": item.key,
            "text": item.text,
            "answer": [_answer(inst, item, int(value))],
        }
        if item.loinc:
            entry["definition"] = f"{LOINC}/{item.loinc}"
        items.append(entry)
    assert a.completed_at is not None
    return {
        "resourceType": "QuestionnaireResponse",
        "id": f"administration-{a.id}",
        "questionnaire": _questionnaire_url(inst),
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
        "valueInteger": a.total,
        "interpretation": [{"text": a.band or inst.band_for(a.total).label}],
        "derivedFrom": [{"reference": response_ref}],
    }


def client_bundle(
    db: Session, client: User, generated: dt.datetime, *, totals: bool = True
) -> dict[str, Any]:
    """The client's Bundle as a JSON-ready dict; without `totals`, only their answers (no
    Observation of a total score)."""
    patient_ref = _urn("patient", client.id)
    entries = [{"fullUrl": patient_ref, "resource": patient(client)}]
    known = measures.instruments()
    for a in reports.administrations_in(db, client):
        inst = known.get(a.instrument_code)
        if inst is None:  # an instrument the practice has since removed
            continue
        response_ref = _urn("response", a.id)
        entries.append(
            {"fullUrl": response_ref, "resource": questionnaire_response(a, inst, patient_ref)}
        )
        if totals:
            entries.append(
                {
                    "fullUrl": _urn("observation", a.id),
                    "resource": observation(a, inst, patient_ref, response_ref),
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
