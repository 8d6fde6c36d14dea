"""The forms of signing in and of one's own account. They declare shape; the rules about
accounts live in accounts.py."""

from __future__ import annotations

from typing import Any

from wtforms import EmailField, HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from ..accounts import password_problem
from ..web.forms import Form


class ForgottenPasswordForm(Form):
    email = EmailField(
        "Email address",
        validators=[DataRequired("Enter the email address you sign in with.")],
        description="The address you sign in to Bedrock with.",
    )


class SignInForm(Form):
    class Meta:
        # Any email address that cannot be an account's (control characters included) is a
        # failed sign-in with the usual message: see sign_in._check_password.
        check_plain_text = False

    email = EmailField("Email address", validators=[DataRequired("Enter your email address.")])
    # No length validator: an over-long password is simply wrong (accounts.check_password
    # refuses it before hashing) and the page must not say more than that.
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    next = HiddenField()


def _new_password(form: Any, field: Any) -> None:
    problem = password_problem(field.data or "")
    if problem:
        raise ValidationError(problem)


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


class AcceptInvitationForm(Form):
    email = EmailField(
        "Email address",
        description="You will sign in with this address.",
        validators=[Optional(), Email("Enter a valid email address."), Length(max=254)],
    )
    password, confirm = _password_fields(PASSWORD_HELP)


class ChangePasswordForm(Form):
    current = PasswordField(
        "Current password", validators=[DataRequired("Enter your current password.")]
    )
    password, confirm = _password_fields(PASSWORD_HELP, "New password")


class ChangeEmailForm(Form):
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


class ConfirmIdentityForm(Form):
    password = PasswordField("Password", validators=[DataRequired("Enter your password.")])
    code = StringField(
        "Code from your authenticator app",
        description="Or one of your recovery codes.",
        validators=[Optional(), Length(max=40)],
    )
    next = HiddenField()


class CodeForm(Form):
    code = StringField(
        "Code",
        description="The 6-digit code from your authenticator app, or one of your recovery codes.",
        validators=[DataRequired("Enter the code from your app."), Length(max=40)],
    )


class SetupCodeForm(Form):
    code = StringField(
        "Code from the app",
        description="Type the 6-digit code the app shows for Bedrock.",
        validators=[DataRequired("Enter the code from your app."), Length(max=40)],
    )
