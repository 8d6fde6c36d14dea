"""Forms for the client's own goals, used by the client's pages and the therapist's: a goal's
words, and one 0-10 rating per goal (built for the goals a plan has at the moment)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import DateField, RadioField, StringField
from wtforms.validators import InputRequired, Length, Optional

from .. import goals
from ..models import Goal
from .forms import Form, options

RATING_CHOICES = options((str(i), str(i)) for i in range(goals.LOWEST, goals.HIGHEST + 1))


WORDING_RULES = [
    InputRequired("Write the goal in a few words."),
    Length(max=goals.WORDING_MAX, message=f"Keep the goal to {goals.WORDING_MAX} characters."),
]


class GoalWordingForm(Form):
    wording = StringField(
        "The goal, in the client's own words",
        description="What would be different if things got better? For example: "
        "“Reply to my sister within a day.”",
        validators=WORDING_RULES,
    )


class ClientGoalWordingForm(Form):
    wording = StringField(
        "My goal, in my own words",
        description="Something you would like to be different, small enough to notice. For "
        "example: “Reply to my sister within a day.”",
        validators=WORDING_RULES,
    )


def rating_field_name(goal: Goal) -> str:
    return f"goal_{goal.id}"


def with_goal_ratings(
    base: type[Form], active: Sequence[Goal], *, required: bool, who: str = "I"
) -> type[Form]:
    """`base` with one 0-10 rating field per active goal, labelled with the goal's words."""
    attrs: dict[str, Any] = {}
    for number, goal in enumerate(active, start=1):
        words = goals.wording_of(goal)
        question = (
            f"How close am I to my goal {number}: “{words}”?"
            if who == "I"
            else f"Goal {number}: “{words}”: how close is the client to it today?"
        )
        attrs[rating_field_name(goal)] = RadioField(
            question,
            description=goals.SCALE_WORDS + ".",
            choices=RATING_CHOICES,
            validators=[
                InputRequired(f"Choose a number from {goals.LOWEST} to {goals.HIGHEST}.")
                if required
                else Optional()
            ],
        )
    return type(f"{base.__name__}WithGoals", (base,), attrs)


def ratings_from(form: Form, active: Sequence[Goal]) -> dict[int, str]:
    """{goal id: rating} for the goals rated on the form (a blank optional rating is left out)."""
    out = {}
    for goal in active:
        value = form[rating_field_name(goal)].data
        if value not in (None, "", "None"):
            out[goal.id] = value
    return out


class SessionRatingForm(Form):
    session_date = DateField(
        "Session date",
        validators=[InputRequired("Give the session's date.")],
    )
