"""Giving questionnaires and the weekly check-in: what is due when, recording answers
(scored on the server), and the series that charts and summaries read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import alerts, episodes, measures, plans, tracking
from .db import utcnow
from .errors import DomainError
from .models import Administration, Alert, CheckIn, Plan, User

# Which instruments a week's "measures due" entries mean (program.md): the batteries are
# every battery instrument; PHQ-9 and GAD-7 between batteries are given fortnightly.
BATTERY_SLOTS = {
    "baseline_battery": "baseline",
    "midpoint_battery": "midpoint",
    "end_battery": "end",
}


class QuestionnaireError(DomainError):
    """A rule about questionnaires was broken."""


class Unanswered(QuestionnaireError):
    """Some items are missing or out of range; `errors` maps item key to a message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("Please answer every question.")
        self.errors = errors


@dataclass(frozen=True)
class Due:
    code: str
    slot: str
    week: int
    done: Administration | None


def battery_codes() -> list[str]:
    """The instruments of the baseline, mid-point and end batteries."""
    return [code for code, inst in measures.instruments().items() if inst.battery]


def program_slots(db: Session, plan: Plan, week: int) -> dict[str, str]:
    """The instruments the program itself gives in a week, with their slots (battery
    measures the plan leaves out are not given)."""
    program = plans.program_of(db, plan)
    skipped = plans.left_out(plan)  # battery measures that do not fit this client
    unique: dict[str, str] = {}
    for entry in program.week(week).measures:
        if entry in BATTERY_SLOTS:
            for code in battery_codes():
                if code not in skipped:
                    unique.setdefault(code, BATTERY_SLOTS[entry])
        elif entry in ("phq9", "gad7"):
            unique.setdefault(entry, "fortnightly")
    return unique


def slots_in_week(db: Session, plan: Plan, week: int) -> dict[str, str]:
    """The instruments a plan gives in a week, with their slots, in instrument order: the
    program's, changed by the client's own schedule (plans.set_schedule). A week the client's
    schedule adds keeps the program's slot where the program gives it too (so that week 1
    stays the baseline), else it is "scheduled"."""
    given = program_slots(db, plan, week)
    for code, schedule in plans.schedules(plan).items():
        if code in plans.left_out(plan) or code not in measures.instruments():
            continue
        if schedule.gives(week):
            given.setdefault(code, "scheduled")
        else:
            given.pop(code, None)
    order = list(measures.instruments())
    return dict(sorted(given.items(), key=lambda kv: order.index(kv[0])))


def scheduled(db: Session, plan: Plan, week: int) -> tuple[list[Due], bool]:
    """The questionnaires a plan schedules for a week, with any completed one; and whether
    the weekly check-in is due that week. The client's own schedule counts and battery
    measures the plan leaves out are not scheduled (so neither the client's page nor the
    reminders show them)."""
    program = plans.program_of(db, plan)
    unique = slots_in_week(db, plan, week)
    done = {
        a.instrument_code: a
        for a in db.scalars(
            sa.select(Administration).where(
                Administration.plan_id == plan.id,
                Administration.week == week,
                Administration.slot != "ad_hoc",
                Administration.completed_at.is_not(None),
            )
        )
    }
    dues = [Due(code, slot, week, done.get(code)) for code, slot in unique.items()]
    return dues, "weekly_checkin" in program.week(week).measures


@dataclass(frozen=True)
class ScheduleRow:
    """How one plan gives one instrument, for the schedule page."""

    code: str
    inst: measures.Instrument
    weeks: tuple[int, ...]  # the plan weeks it is given in
    own: plans.MeasureSchedule | None  # the client's own schedule, if set
    left_out: bool  # a battery measure this plan leaves out

    @property
    def words(self) -> str:
        """The schedule in the therapist's words."""
        if self.left_out or not self.weeks:
            return "not given"
        if self.own is not None:
            return self.own.words()
        return f"as the program schedules it (weeks {', '.join(map(str, self.weeks))})"

    @property
    def rule(self) -> str:
        """The rule the schedule form starts from."""
        if self.left_out or (self.own is None and not self.inst.battery):
            return "none"
        return self.own.rule if self.own is not None else "program"


def plan_schedule(db: Session, plan: Plan) -> list[ScheduleRow]:
    """Every instrument the practice has, with the weeks this plan gives it."""
    by_week = {week: slots_in_week(db, plan, week) for week in range(1, plans.WEEKS + 1)}
    own = plans.schedules(plan)
    return [
        ScheduleRow(
            code,
            inst,
            tuple(w for w, given in by_week.items() if code in given),
            own.get(code),
            code in plans.left_out(plan),
        )
        for code, inst in measures.instruments().items()
    ]


def open_dues(db: Session, plan: Plan, week: int) -> tuple[list[Due], bool]:
    """What a client can answer in `week`: this week's questionnaires (answered or not) and
    last week's that are still unanswered, and whether this week's check-in is due. A week's
    questionnaires stay open one week more, so that a missed day is not a missed measure;
    the client's page and the reminders both follow this rule."""
    dues, check_in_due = scheduled(db, plan, week)
    if week > 1:
        dues += [d for d in scheduled(db, plan, week - 1)[0] if d.done is None]
    return dues, check_in_due


def slot_for(db: Session, plan: Plan, week: int, code: str) -> str | None:
    """The slot under which a plan schedules this instrument in this week, if it does."""
    dues, _ = scheduled(db, plan, week)
    return next((d.slot for d in dues if d.code == code), None)


def problem_for(db: Session, client: User, administration: Administration | None = None) -> str:
    """The words the WSAS items use for "my [problem]": those of the plan an administration
    belongs to, or of the client's open (else latest) plan."""
    plan = (
        db.get(Plan, administration.plan_id) if administration and administration.plan_id else None
    )
    if plan is None and administration is None:
        plan = plans.open_plan(db, client) or plans.latest_plan(db, client)
    return plans.problem_words(plan)


def pending_requests(db: Session, client: User) -> list[Administration]:
    """Questionnaires the therapist sent that the client has not completed yet."""
    return list(
        db.scalars(
            sa.select(Administration)
            .where(
                Administration.client_id == client.id,
                Administration.slot == "ad_hoc",
                Administration.completed_at.is_(None),
            )
            .order_by(Administration.requested_at)
        )
    )


def request(db: Session, client: User, therapist: User, code: str) -> Administration:
    """Send a questionnaire to a client now (outside the plan's schedule)."""
    inst = measures.instrument(code)
    plan = plans.open_plan(db, client)
    administration = Administration(
        client_id=client.id,
        plan_id=plan.id if plan else None,
        instrument_code=inst.code,
        instrument_version=inst.version,
        slot="ad_hoc",
        requested_by_id=therapist.id,
    )
    db.add(administration)
    db.flush()
    return administration


def parse_answers(code: str, form: dict[str, Any]) -> dict[str, int | str]:
    """Item answers from form data ('item-<key>'), every one required and in range. Extra
    (unscored) questions come back too, as 'extra-<key>'. An item that may not apply (the WSAS
    work item) is answered measures.NOT_APPLICABLE when its box ('not_applicable-<key>') is
    ticked, whatever was chosen for it."""
    inst = measures.instrument(code)
    answers: dict[str, int | str] = {}
    errors: dict[str, str] = {}
    for item in inst.items:
        if item.not_applicable and str(form.get(f"not_applicable-{item.key}", "")).strip():
            answers[item.key] = measures.NOT_APPLICABLE
            continue
        raw = str(form.get(f"item-{item.key}", "")).strip()
        allowed = {o.value for o in item.options}
        if raw == "":
            errors[item.key] = f"Please choose an answer for question {item.key}."
        elif not raw.lstrip("-").isdecimal() or int(raw) not in allowed:
            errors[item.key] = f"Question {item.key}: please choose one of the answers shown."
        else:
            answers[item.key] = int(raw)
    for extra in inst.extra_items:
        raw = str(form.get(f"extra-{extra.key}", "")).strip()
        if raw.isdecimal() and int(raw) in {o.value for o in extra.options}:
            answers[extra.key] = int(raw)
    if errors:
        raise Unanswered(errors)
    return answers


def complete(
    db: Session,
    client: User,
    code: str,
    answers: Mapping[str, int | str],
    entered_by: User,
    *,
    plan: Plan | None = None,
    week: int | None = None,
    slot: str = "ad_hoc",
    request_row: Administration | None = None,
) -> tuple[Administration, list[Alert]]:
    """Store a completed questionnaire; the total, band and flags are computed here from the
    items, never taken from the request. Returns it with any alerts it raised (a PHQ-9 or
    GAD-7 also raises, refreshes or resolves the plan's "not on track" signal)."""
    inst = measures.instrument(code)
    item_answers = {i.key: answers[i.key] for i in inst.items if i.key in answers}
    result = measures.score(code, item_answers)  # raises ValueError on anything missing
    if plan is None:  # what is answered while a plan is open belongs to its episode
        sent_in = request_row.plan_id if request_row is not None else None
        plan = db.get(Plan, sent_in) if sent_in else plans.open_plan(db, client)
    before = episodes.courses(db, client, plan).get(code)
    baseline = db.get(Administration, before.baseline.id) if before else None
    row = request_row or Administration(
        client_id=client.id,
        plan_id=plan.id if plan else None,
        instrument_code=inst.code,
        slot=slot,
        week=week,
        requested_by_id=entered_by.id,
    )
    if row.completed_at is not None:
        raise QuestionnaireError("This questionnaire has already been answered.")
    row.plan_id = plan.id if plan else None
    row.instrument_version = inst.version
    row.answers = dict(answers)
    row.total = result.total
    row.out_of = result.out_of
    row.band = result.band
    row.flags = sorted(result.flags)
    row.completed_at = utcnow()
    row.entered_by_id = entered_by.id
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        raise QuestionnaireError("This week's questionnaire has already been answered.") from None
    raised = alerts.for_administration(db, row, baseline)
    # Not a risk alert: a PHQ-9 or GAD-7 above its expected path raises a "not on track"
    # signal of its own (tracking), kept apart from the alerts returned here.
    tracking.refresh(db, client, plan, row)
    return row, raised


class CheckInRatings(TypedDict):
    trust: int
    distress: int
    helpfulness: int | None


def check_in_ratings(data: dict[str, Any]) -> CheckInRatings:
    """The three ratings of a check-in from what a form holds ("" or None: not answered)."""

    def number(value: Any) -> int | None:
        return int(value) if str(value or "").isdecimal() else None

    return {
        "trust": number(data.get("trust")) or 0,
        "distress": number(data.get("distress")) or 0,
        "helpfulness": number(data.get("helpfulness")),
    }


def record_check_in(
    db: Session,
    client: User,
    plan: Plan,
    week: int,
    entered_by: User,
    *,
    trust: int,
    distress: int,
    helpfulness: int | None,
    note: str | None,
) -> tuple[CheckIn, list[Alert]]:
    """Store the week's check-in (once per week) and raise a distress alert if needed."""
    for name, value, high in (("trust", trust, 10), ("distress", distress, 10)):
        if not 0 <= value <= high:
            raise QuestionnaireError(f"Choose a number from 0 to {high}.", name)
    if helpfulness is not None and not 0 <= helpfulness <= 4:
        raise QuestionnaireError("Choose a number from 0 to 4.", "helpfulness")
    check_in = CheckIn(
        client_id=client.id,
        plan_id=plan.id,
        week=week,
        trust=trust,
        distress=distress,
        helpfulness=helpfulness,
        note=(note or "").strip() or None,
        entered_by_id=entered_by.id,
    )
    try:
        with db.begin_nested():
            db.add(check_in)
    except IntegrityError:
        raise QuestionnaireError("You have already done this week's check-in.") from None
    return check_in, alerts.for_check_in(db, check_in)


def check_in_for(db: Session, plan: Plan, week: int) -> CheckIn | None:
    """The check-in of one plan week, if done."""
    return db.scalar(sa.select(CheckIn).where(CheckIn.plan_id == plan.id, CheckIn.week == week))


# --- series for charts and summaries --------------------------------------------------------


def check_in_series(db: Session, client: User) -> list[CheckIn]:
    """All the client's weekly check-ins, oldest first."""
    return list(
        db.scalars(
            sa.select(CheckIn)
            .where(CheckIn.client_id == client.id)
            .order_by(CheckIn.created_at, CheckIn.id)
        )
    )


@dataclass(frozen=True)
class Summary:
    code: str
    latest: episodes.Score
    baseline: episodes.Score
    band: str
    change: int
    rc: measures.ReliableChange | None
    category: str | None
    direction_words: str


def summarise(course: episodes.Course) -> Summary:
    """Latest score and band, change since the episode's baseline and the reliable-change
    category (Jacobson & Truax 1991)."""
    inst = measures.instrument(course.code)
    first, last = course.baseline, course.latest
    pre, post = first.value, last.value
    if first.out_of != last.out_of:  # an item applied once and not the other time (the WSAS
        # work item after retiring): compare both on the full scale, prorated
        pre, post = first.on_full_scale(inst), last.on_full_scale(inst)
    rc = None
    category = None
    if not course.single:
        rc = inst.reliable_change(pre, post)
        category = measures.clinical_category(inst, pre, post)
    change = post - pre
    better = (change > 0) == inst.higher_is_better
    words = "no change" if change == 0 else ("better" if better else "worse")
    band = inst.band_for(last.value, last.out_of).label
    return Summary(course.code, last, first, band, change, rc, category, words)
