"""The fixed forms. They declare shape; the rules about accounts live in accounts.py."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from .accounts import password_problem


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


def _password_fields(help_text: str) -> tuple[PasswordField, PasswordField]:
    password = PasswordField(
        "Choose a password",
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
