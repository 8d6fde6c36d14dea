"""The fixed forms. They declare shape; the rules about accounts live in accounts.py."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from .accounts import password_problem
from .timeutil import WEEKDAYS


def options(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    """Choices for a select or radio field, as WTForms 3.3+ wants them."""
    return [SelectChoice(value, label) for value, label in pairs]


def _new_password(form: Any, field: Any) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


class SignInForm(FlaskForm):
    email = EmailField("Email address", validators=[DataRequired("Enter your email address.")])
    # No length validator: an over-long password is simply wrong (accounts.check_password
    # refuses it before hashing) and the page must not say more than that.
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    next = HiddenField()


def _password_fields(
    help_text: str, label: str = "Choose a password"
) -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        label,
        description=help_text,
        validators=[DataRequired("Choose a password."), _new_password],
    )
    confirm = PasswordField(
        "Type the password again",
        validators=[
            DataRequired("Type the password again."),
            EqualTo("password", "The two passwords are not the same."),
        ],
    )
    return password, confirm


PASSWORD_HELP = (
    "12 to 128 characters. Any characters are fine, including spaces; "
    "a few unrelated words make a strong password that is easy to remember."
)


class AcceptInvitationForm(FlaskForm):
    email = EmailField(
        "Email address",
        description="You will sign in with this address.",
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
    )
    password, confirm = _password_fields(PASSWORD_HELP)


class NewTherapistForm(FlaskForm):
    display_name = StringField(
        "Name",
        description="As clients and colleagues will see it.",
        validators=[DataRequired("Enter the therapist's name."), Length(max=120)],
    )
    email = EmailField(
        "Email address",
        description="The therapist signs in with this address.",
        validators=[
            DataRequired("Enter an email address."),
            Email("Enter a valid email address."),
            Length(max=254),
        ],
    )


class NewClientForm(FlaskForm):
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


class ConfirmForm(FlaskForm):
    """A button-only form: it carries the CSRF token for a POST action."""


class StartPlanForm(FlaskForm):
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


class EditAssignmentForm(FlaskForm):
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


class ReviewForm(FlaskForm):
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


class CheckInForm(FlaskForm):
    trust = RadioField(
        "This week, how able have I felt to trust the people close to me?",
        description="0 = not at all, 10 = completely.",
        choices=options((str(i), str(i)) for i in range(11)),
        validators=[InputRequired("Choose a number from 0 to 10.")],
    )
    distress = RadioField(
        "How distressed have I felt this week?",
        description="0 = not at all, 10 = the most distressed I could be.",
        choices=options((str(i), str(i)) for i in range(11)),
        validators=[InputRequired("Choose a number from 0 to 10.")],
    )
    helpfulness = RadioField(
        "How helpful was last week's homework?",
        description="Leave this out if you had no homework last week.",
        choices=options(
            [
                ("0", "Not at all"),
                ("1", "A little"),
                ("2", "Somewhat"),
                ("3", "Very"),
                ("4", "Extremely"),
            ]
        ),
        validators=[Optional()],
    )
    note = TextAreaField(
        "Anything your therapist should know? (optional)",
        description="Your therapist reads this before your next session.",
        validators=[Optional(), Length(max=2000, message="Use at most 2000 characters.")],
    )


class SendQuestionnaireForm(FlaskForm):
    code = SelectField("Questionnaire", validators=[InputRequired("Choose a questionnaire.")])


class AcknowledgeForm(FlaskForm):
    note = TextAreaField(
        "What you did or decided",
        description="For example: phoned the client, safety plan reviewed, seen in session.",
        validators=[
            DataRequired("Write what you did or decided."),
            Length(max=4000, message="Use at most 4000 characters."),
        ],
    )


@cache
def time_zones() -> tuple[str, ...]:
    """The named time zones a person can choose from (Region/City), plus UTC."""
    names = {
        z
        for z in available_timezones()
        if "/" in z and z.split("/")[0] not in ("Etc", "SystemV", "US", "posix", "right")
    }
    return ("UTC", *sorted(names))


HOURS = [SelectChoice(h, f"{h:02d}:00") for h in range(24)]


def _reminder_days(form: Any, field: Any) -> None:
    from .notifications import parse_offsets  # notifications needs this module's options()

    try:
        parse_offsets(field.data or "")
    except ValueError as error:
        raise ValidationError(str(error)) from None


class PracticeSettingsForm(FlaskForm):
    crisis_contacts = TextAreaField(
        "Crisis contacts shown to clients",
        description=(
            "Shown whenever a client's answers raise an alert. Give the numbers and services "
            "that apply where your clients live, e.g. your out-of-hours line and the local "
            "emergency number."
        ),
        validators=[
            DataRequired("Enter at least one crisis contact."),
            Length(max=2000, message="Use at most 2000 characters."),
        ],
    )
    clients_see_scores = BooleanField(
        "Clients can see their own questionnaire scores",
        description="Scores are shown in plain words with what the range means.",
    )
    mfa_required = BooleanField(
        "Therapists and admins must use two-step sign-in",
        description=(
            "Anyone who has not set it up is asked to do so right after their password, and "
            "can do nothing else until they have."
        ),
    )
    time_zone = SelectField(
        "Practice time zone",
        description="Used for anyone who has not chosen a time zone of their own.",
    )
    reminder_days = StringField(
        "Reminder days",
        description=(
            "When clients get an email about homework or a questionnaire they have not done "
            "yet, counted from its due date: -1 is the day before, 0 the due day, 2 two days "
            "after. Separate them with commas. Leave empty to send no reminders."
        ),
        validators=[
            Optional(),
            Length(max=40, message="Use at most 40 characters."),
            _reminder_days,
        ],
    )
    reminder_window_days = IntegerField(
        "Stop reminding after this many days past the due date",
        description="0 to 60. After this, unfinished work is left for the next session.",
        # Fields a form leaves out keep their saved value (the practice is the form's obj).
        validators=[NumberRange(0, 60, "Enter a number of days from 0 to 60.")],
    )
    quiet_from_hour = SelectField(
        "Quiet hours start",
        choices=HOURS,
        coerce=int,
        description="No reminder reaches a client from this hour (their own local time)…",
    )
    quiet_until_hour = SelectField(
        "Quiet hours end",
        choices=HOURS,
        coerce=int,
        description="…until this hour. Choose the same hour twice for no quiet hours.",
    )
    digest_hour = SelectField(
        "Therapists' daily summary",
        choices=HOURS,
        coerce=int,
        description=(
            "Each therapist gets one email a day at this local hour, if there is anything new."
        ),
    )

    def validate_reminder_window_days(self, field: Any) -> None:
        from .notifications import parse_offsets

        try:
            days = parse_offsets(self.reminder_days.data or "")
        except ValueError:
            return
        if field.data is not None and days and max(days) > field.data:
            raise ValidationError(
                f"A reminder {max(days)} days after the due date would never be sent: "
                f"use at least {max(days)} here, or remove that reminder day."
            )


class ClientSettingsForm(FlaskForm):
    reminders = BooleanField(
        "Email me reminders",
        description=(
            "A short email when homework or a questionnaire is coming up or not done yet. "
            "It never says what the homework is about."
        ),
    )
    time_zone = SelectField(
        "My time zone",
        description="Dates, due days and the time reminders arrive follow this.",
    )


def _long_text(label: str, description: str, limit: int) -> TextAreaField:
    return TextAreaField(
        label,
        description=description,
        validators=[Optional(), Length(max=limit, message=f"Use at most {limit:,} characters.")],
    )


class SessionNoteForm(FlaskForm):
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


class AddendumForm(FlaskForm):
    text = TextAreaField(
        "Addendum",
        description="Dated and added below the signed note; the note itself does not change.",
        validators=[
            DataRequired("Write the addendum."),
            Length(max=5000, message="Use at most 5,000 characters."),
        ],
    )


class EventNoteForm(FlaskForm):
    on_date = DateField("Date", validators=[InputRequired("Enter the date of the event.")])
    text = StringField(
        "What happened",
        description="A few words, e.g. 'Moved in with partner'. Shown as a marker on the charts.",
        validators=[
            DataRequired("Describe the event."),
            Length(max=200, message="Use at most 200 characters."),
        ],
    )


class ChangePasswordForm(FlaskForm):
    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    password, confirm = _password_fields(PASSWORD_HELP, "New password")


class TransferForm(FlaskForm):
    client = SelectField("Client", validators=[InputRequired("Choose a client.")])
    therapist = SelectField("Hand over to", validators=[InputRequired("Choose a therapist.")])
    reason = StringField(
        "Reason",
        description="Kept with the record of the handover, e.g. 'therapist on leave'.",
        validators=[DataRequired("Give a reason for the handover."), Length(max=200)],
    )


class EraseForm(FlaskForm):
    reason = TextAreaField(
        "Why the record is erased",
        description="Kept with the record of the erasure, e.g. 'client asked for erasure; "
        "retention period over'. No clinical details.",
        validators=[
            DataRequired("Say why the record is erased."),
            Length(min=10, max=500, message="Use 10 to 500 characters."),
        ],
    )
    confirm_name = StringField(
        "Type the client's name to confirm",
        validators=[DataRequired("Type the client's name to confirm.")],
    )


class CodeForm(FlaskForm):
    code = StringField(
        "Code",
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
        validators=[DataRequired("Enter the code from your app."), Length(max=40)],
    )


class SetupCodeForm(FlaskForm):
    code = StringField(
        "Code from the app",
        description="Type the 6-digit code the app shows for Bedrock.",
        validators=[DataRequired("Enter the code from your app."), Length(max=40)],
    )


class ConfirmIdentityForm(FlaskForm):
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    code = StringField(
        "Code from your authenticator app",
        description="Or one of your recovery codes.",
        validators=[Optional(), Length(max=40)],
    )
    next = HiddenField()


class ChangeEmailForm(FlaskForm):
    email = EmailField(
        "New email address",
        description="You will sign in with this address from now on.",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired("Enter the new email address."),
            Email("Enter a valid email address."),
            Length(max=254),
        ],
    )
    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
