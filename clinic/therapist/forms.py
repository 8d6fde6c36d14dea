"""The therapist's forms: clients, the plan and its homework, reviews, questionnaires, alerts,
session and event notes. They declare shape; the rules live in the domain modules."""

from __future__ import annotations

from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional

from .. import alerts, measures, plans, tracking
from ..library import library
from ..timeutil import WEEKDAYS
from ..web.forms import Form, options


class NewClientForm(Form):
    display_name = StringField(
        "Name or pseudonym",
        description="Whatever you and your client agree to use. A pseudonym is fine.",
        validators=[DataRequired("Enter a name or pseudonym."), Length(max=120)],
    )
    email = EmailField(
        "Email address (optional)",
        description="Leave empty if the client would rather choose it when they accept.",
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
    )


class StartPlanForm(Form):
    start = DateField(
        "First session",
        description="The plan's weeks are counted from the first session on or after this date.",
        validators=[InputRequired("Enter the date of the first session.")],
    )
    session_weekday = SelectField(
        "Weekday of the sessions",
        choices=options((str(i), name) for i, name in enumerate(WEEKDAYS)),
        description="Homework is due the day before each following session.",
        validators=[InputRequired("Choose the weekday of the sessions.")],
    )


class DischargeForm(Form):
    reason = SelectField(
        "Why the plan is finishing",
        choices=options([("", "Choose…"), *plans.DISCHARGE_REASONS.items()]),
        validators=[InputRequired("Choose why the plan is finishing.")],
    )
    risk = TextAreaField(
        "Risk at discharge",
        description="Self-harm, harm from or to others, safety in the relationship: what is "
        "known now, and what was done. Write 'none known' if that is so.",
        validators=[
            InputRequired("Describe the risk at discharge (or write that none is known)."),
            Length(max=5000, message="Use at most 5,000 characters."),
        ],
    )
    recommendations = TextAreaField(
        "Recommendations",
        description="What you recommend next: keeping the maintenance plan, a review, "
        "another service. Printed in the progress report.",
        validators=[Length(max=5000, message="Use at most 5,000 characters.")],
    )
    version = HiddenField()


class EditAssignmentForm(Form):
    week = IntegerField(
        "Week",
        description="1 to 12.",
        validators=[
            InputRequired("Enter a week from 1 to 12."),
            NumberRange(1, 12, "Enter a week from 1 to 12."),
        ],
    )
    due_on = DateField(
        "Due date",
        description="Leave empty for the day before the next session.",
        validators=[Optional()],
    )
    instruction = TextAreaField(
        "Personal instruction (optional)",
        description="A note for this client only, shown with the homework.",
        validators=[Optional(), Length(max=1000, message="Use at most 1000 characters.")],
    )
    # The version the form was shown with: a stale edit is refused (plans.StaleChange).
    version = HiddenField()


class AssignmentForm(EditAssignmentForm):
    worksheet = SelectField(
        "Worksheet",
        description="Any worksheet from the library, whichever week it usually belongs to.",
        validators=[InputRequired("Choose a worksheet.")],
    )


class ReviewForm(Form):
    completion = RadioField(
        "How much was done",
        choices=options([("none", "None"), ("some", "Some"), ("most", "Most"), ("all", "All")]),
        validators=[InputRequired("Choose how much of the homework was done.")],
    )
    quality = RadioField(
        "Quality of the work",
        description="0 = no real engagement, 4 = thorough, thoughtful work that used the skill.",
        choices=options((str(i), str(i)) for i in range(5)),
        validators=[InputRequired("Choose a quality rating from 0 to 4.")],
    )
    feedback = TextAreaField(
        "Feedback for your client",
        description="Your client sees this with their homework. Warm and specific helps most.",
        validators=[Optional(), Length(max=4000, message="Use at most 4000 characters.")],
    )


class MeasuresForm(Form):
    # Checked against the plan rules (plans.fit_measures), which name PHQ-9 and GAD-7 as
    # always given rather than answering "not a valid choice".
    left_out = SelectMultipleField(
        "Leave out of this plan's batteries",
        description="For example CSI-4 (couples satisfaction) when there is no current partner.",
        validate_choice=False,
    )
    problem = StringField(
        "What the WSAS says for “my [problem]”",
        description=(
            f"As the client would say it, for example “{plans.DEFAULT_PROBLEM}” (the default "
            "when empty). The client reads it in every WSAS question."
        ),
        validators=[
            Optional(),
            Length(max=plans.PROBLEM_MAX, message=f"Use at most {plans.PROBLEM_MAX} characters."),
        ],
    )


def with_optional_measures(form: MeasuresForm) -> MeasuresForm:
    """The measures form with the battery instruments a plan may leave out."""
    form.left_out.choices = options(
        (code, f"{inst.short_name} · {inst.about}")
        for code, inst in plans.optional_measures().items()
    )
    return form


class ScheduleForm(Form):
    """How the plan gives one instrument; one form per instrument on the schedule page (each
    with its own prefix, so that ids stay unique)."""

    rule = RadioField("Schedule", validators=[InputRequired("Choose a schedule.")])
    weeks = StringField(
        "Weeks of the plan",
        description="For “In the weeks I choose”: for example 1, 4, 8, 12.",
        validators=[Optional(), Length(max=60, message="Use at most 60 characters.")],
    )
    every = IntegerField(
        "Every how many weeks",
        description="For “Every few weeks”: 2 gives weeks 1, 3, 5, 7, 9 and 11.",
        validators=[
            Optional(),
            NumberRange(1, plans.WEEKS - 1, f"Choose a number from 1 to {plans.WEEKS - 1}."),
        ],
    )


def schedule_form(code: str, **kwargs: object) -> ScheduleForm:
    """The schedule form of one instrument, with the rules it may have."""
    form = ScheduleForm(prefix=f"{code}-", **kwargs)
    form.rule.choices = options((rule, plans.RULES[rule]) for rule in plans.schedule_choices(code))
    return form


class SendQuestionnaireForm(Form):
    code = SelectField("Questionnaire", validators=[InputRequired("Choose a questionnaire.")])


class AcknowledgeForm(Form):
    risk_review = RadioField(
        "Risk",
        choices=options(alerts.ACK_CHOICES["risk_review"].items()),
        validators=[InputRequired("Say whether risk was assessed.")],
    )
    safety_plan = RadioField(
        "Safety plan",
        choices=options(alerts.ACK_CHOICES["safety_plan"].items()),
        validators=[InputRequired("Say what happened about a safety plan.")],
    )
    contact = RadioField(
        "Contact with the client",
        choices=options(alerts.ACK_CHOICES["contact"].items()),
        validators=[InputRequired("Say how the client was contacted, or that they were not yet.")],
    )
    contacted_on = DateField(
        "Date of the contact (or the attempt)",
        description="Leave empty only if the client has not been contacted yet.",
        validators=[Optional()],
    )
    next_step = TextAreaField(
        "Next step (optional)",
        description="For example: review at Thursday's session; a letter to their doctor.",
        validators=[Optional(), Length(max=1000, message="Use at most 1000 characters.")],
    )
    note = TextAreaField(
        "What you did or decided",
        description="For example: phoned the client, safety plan reviewed, seen in session.",
        validators=[
            DataRequired("Write what you did or decided."),
            Length(max=4000, message="Use at most 4000 characters."),
        ],
    )


def _long_text(label: str, description: str, limit: int) -> TextAreaField:
    return TextAreaField(
        label,
        description=description,
        validators=[Optional(), Length(max=limit, message=f"Use at most {limit:,} characters.")],
        render_kw={"rows": 6, "data-autogrow": ""},
    )


class SessionNoteForm(Form):
    session_date = DateField("Session date", validators=[InputRequired("Enter the session date.")])
    duration_minutes = IntegerField(
        "Duration (minutes)",
        validators=[
            InputRequired("Enter the duration in minutes."),
            NumberRange(0, 600, "Enter a duration from 0 to 600 minutes."),
        ],
    )
    attendance = RadioField(
        "Attendance",
        choices=options(
            [
                ("attended", "Attended"),
                ("cancelled", "Cancelled"),
                ("did_not_attend", "Did not attend"),
            ]
        ),
        validators=[InputRequired("Choose the attendance.")],
    )
    format = RadioField(
        "Format",
        choices=options([("in_person", "In person"), ("video", "Video"), ("phone", "Phone")]),
        validators=[InputRequired("Choose the format.")],
    )
    data = _long_text(
        "Data", "What happened and what was observed, including scores and homework.", 10_000
    )
    assessment = _long_text("Assessment", "Your clinical interpretation.", 10_000)
    plan = _long_text("Plan", "Next steps, including any risk management.", 10_000)
    homework_reviewed = _long_text("Homework reviewed", "", 5_000)
    homework_set = _long_text("Homework set for next week", "", 5_000)
    version = HiddenField()


class AddendumForm(Form):
    text = TextAreaField(
        "Addendum",
        description="Dated and added below the signed note; the note itself does not change.",
        validators=[
            DataRequired("Write the addendum."),
            Length(max=5000, message="Use at most 5,000 characters."),
        ],
    )


class EventNoteForm(Form):
    on_date = DateField("Date", validators=[InputRequired("Enter the date of the event.")])
    text = StringField(
        "What happened",
        description="A few words, e.g. 'Moved in with partner'. Shown as a marker on the charts.",
        validators=[
            DataRequired("Describe the event."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )


def with_worksheets(form: AssignmentForm) -> AssignmentForm:
    """The assignment form with every worksheet of the library to choose from, by title."""
    titles = sorted((ws.title, key) for key, ws in library().worksheets.items())
    form.worksheet.choices = options((key, title) for title, key in titles)
    return form


def with_instruments(form: SendQuestionnaireForm) -> SendQuestionnaireForm:
    """The send-a-questionnaire form with every instrument the practice has."""
    form.code.choices = options(
        (code, f"{inst.short_name} · {inst.about}") for code, inst in measures.instruments().items()
    )
    return form


def checklist_form(formdata: object = None, data: dict[str, object] | None = None) -> Form:
    """The clinical-support checklist of a "not on track" signal (tracking.checklist): one
    question per area with its choices and room for a short note, then the next step."""

    class ChecklistForm(Form):
        pass

    for area in tracking.checklist():
        setattr(
            ChecklistForm,
            area.key,
            RadioField(
                area.title,
                description=area.question,
                choices=options(area.choices),
                validators=[InputRequired(f"Choose an answer for “{area.title}”.")],
            ),
        )
        setattr(
            ChecklistForm,
            f"{area.key}_note",
            TextAreaField(
                f"Note on {area.title.lower()} (optional)",
                validators=[
                    Optional(),
                    Length(
                        max=tracking.NOTE_MAX,
                        message=f"Keep this to {tracking.NOTE_MAX} characters.",
                    ),
                ],
            ),
        )
    ChecklistForm.next_step = TextAreaField(
        "What you will do next (optional)",
        description="For example: talk about it openly next session, take it to supervision.",
        validators=[
            Optional(),
            Length(
                max=tracking.NEXT_STEP_MAX,
                message=f"Keep this to {tracking.NEXT_STEP_MAX} characters.",
            ),
        ],
    )
    return ChecklistForm(formdata=formdata, data=data)


def checklist_answers(form: Form) -> dict[str, object]:
    """The checklist form's answers in the shape tracking.review keeps."""
    out: dict[str, object] = {
        area.key: {
            "answer": form[area.key].data,
            "note": form[f"{area.key}_note"].data or "",
        }
        for area in tracking.checklist()
    }
    out["next_step"] = form["next_step"].data or ""
    return out


def checklist_data(saved: dict[str, dict[str, str] | str] | None) -> dict[str, object]:
    """A saved checklist as the form's starting data."""
    data: dict[str, object] = {}
    for area in tracking.checklist():
        given = (saved or {}).get(area.key)
        if isinstance(given, dict):
            data[area.key] = given.get("answer")
            data[f"{area.key}_note"] = given.get("note", "")
    data["next_step"] = (saved or {}).get("next_step", "")
    return data
