"""The client's fixed forms: the weekly check-in and their settings (worksheet forms are built
from their definitions in worksheet_form.py)."""

from __future__ import annotations

from wtforms import BooleanField, RadioField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from ..web.forms import Form, options


class CheckInForm(Form):
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
        description=(
            "Your therapist reads this before your next session. If it is urgent, don't wait: "
            "see 'Need help now?' at the top of the page."
        ),
        validators=[Optional(), Length(max=2000, message="Use at most 2000 characters.")],
    )


class ClientSettingsForm(Form):
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
