"""One's own account: the page, and changing the email address or the password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from .. import accounts, audit, mfa
from .. import db as database
from ..models import User
from ..web.forms import show_error, status_of
from ..web.gates import (
    home_url,
    require_fresh_sign_in,
    signed_in_user,
    start_session,
)
from .blueprint import bp
from .forms import (
    ChangeEmailForm,
    ChangePasswordForm,
)


@bp.get("/account")
@login_required
def account() -> str:
    """The person's own account: email, password, two-step sign-in."""
    user = signed_in_user()
    left = mfa.recovery_codes_left(database.session(), user) if user.mfa_enabled else 0
    return render_template(
        "auth/account.html", user=user, offers_mfa=mfa.applies_to(user), codes_left=left
    )


@bp.route("/account/email", methods=["GET", "POST"])
@login_required
@require_fresh_sign_in
def change_email() -> BaseResponse | tuple[str, int] | str:
    """Change one's sign-in email address; every other session of the person ends."""
    user = signed_in_user()
    form = ChangeEmailForm()
    if form.validate_on_submit():
        if not accounts.check_password(user, form.current.data or ""):
            form.current.errors = ["That is not your current password."]
        else:
            try:
                accounts.change_email(database.session(), user, form.email.data or "")
            except accounts.AccountError as error:
                show_error(form, error, "email")
            else:
                return _email_changed(user)
        form.current.data = ""
    return render_template("auth/change_email.html", form=form, user=user), status_of(form)


def _email_changed(user: User) -> BaseResponse:
    # The sign-in name changed: sessions opened under the old one end, as after a password
    # change.
    user.end_all_sessions()
    start_session(user)
    audit.record("change", "account_email", user.id)
    flash(f"Your email address is now {user.email}. Other devices have been signed out.", "success")
    return redirect(url_for("auth.account"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
@require_fresh_sign_in
def change_password() -> BaseResponse | tuple[str, int] | str:
    """Change one's password; every other session of the person ends."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = signed_in_user()
        if not accounts.check_password(user, form.current.data or ""):
            form.current.errors = ["That is not your current password."]
        else:
            user.password_hash = accounts.hash_password(form.password.data or "")
            user.end_all_sessions()  # a copied cookie stops working everywhere
            start_session(user)
            audit.record("change", "account_password", user.id)
            flash("Your password has been changed. Other devices have been signed out.", "success")
            return redirect(home_url(user))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/change_password.html", form=form), status
