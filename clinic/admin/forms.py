"""The practice admin's forms: colleagues, practice settings, handovers and erasure."""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    EmailField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from .. import erasure
from ..notifications import parse_offsets
from ..web.forms import HOURS, Form


class NewTherapistForm(Form):
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


def _reminder_days(form: Any, field: Any) -> None:
    try:
        parse_offsets(field.data or "")
    except ValueError as error:
        raise ValidationError(str(error)) from None


class PracticeSettingsForm(Form):
    crisis_contacts = TextAreaField(
        "Crisis contacts shown to clients",
        description=(
            "Shown on every client's 'Need help now?' page and whenever a client's answers "
            "raise an alert. Give the numbers and services that apply where your clients live, "
            "e.g. your out-of-hours line, a crisis line and the local emergency number."
        ),
        validators=[
            DataRequired("Enter at least one crisis contact."),
            Length(max=2000, message="Use at most 2000 characters."),
        ],
    )
    abuse_helplines = TextAreaField(
        "Domestic abuse helplines shown to clients (optional)",
        description=(
            "Shown beside the crisis contacts on every client's 'Need help now?' page: the "
            "helplines for people harmed or controlled by a partner or family member where "
            "your clients live."
        ),
        validators=[Optional(), Length(max=2000, message="Use at most 2000 characters.")],
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
    discreet_emails = BooleanField(
        "Discreet emails",
        description=(
            "Every email says only that something is waiting in Bedrock, with no word of "
            "therapy, sessions, homework or alerts' kinds, and without the practice's name: "
            "for clients whose mailbox others may read."
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

    alert_response_hours = IntegerField(
        "Alerts are followed up within (hours)",
        description=(
            "Clients are told that their therapist looks at an alert within this time. An "
            "alert nobody has acknowledged by then is emailed to the practice's safety "
            "contacts (see People). 1 to 168 hours."
        ),
        # Left out of a form, the saved value stays (the practice is the form's obj).
        validators=[NumberRange(1, 168, "Enter a number of hours from 1 to 168.")],
    )

    retention_years = IntegerField(
        "Keep client records for (years after care ends)",
        description=(
            "Records past this period are listed under Clients (records past the retention period), "
            "for you to review; nothing is erased without you. Care ends when the client's "
            "last plan is finished (or at their last session note, if later). "
            f"{erasure.RETENTION_SOURCE} Leave empty for no period."
        ),
        validators=[
            Optional(),
            NumberRange(
                1,
                erasure.RETENTION_YEARS_MAX,
                f"Enter a number of years from 1 to {erasure.RETENTION_YEARS_MAX}, or leave it "
                "empty.",
            ),
        ],
    )

    def validate_reminder_window_days(self, field: Any) -> None:
        try:
            days = parse_offsets(self.reminder_days.data or "")
        except ValueError:
            return
        if field.data is not None and days and max(days) > field.data:
            raise ValidationError(
                f"A reminder {max(days)} days after the due date would never be sent: "
                f"use at least {max(days)} here, or remove that reminder day."
            )


class TransferForm(Form):
    client = SelectField("Client", validators=[InputRequired("Choose a client.")])
    therapist = SelectField("Hand over to", validators=[InputRequired("Choose a therapist.")])
    reason = StringField(
        "Reason",
        description="Kept with the record of the handover, e.g. 'therapist on leave'.",
        validators=[DataRequired("Give a reason for the handover."), Length(max=200)],
    )


class EraseForm(Form):
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
