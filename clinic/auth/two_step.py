"""Two-step sign-in for therapists and admins: set it up, replace the recovery codes, turn it off."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response as BaseResponse

from .. import audit, mfa, throttle
from .. import db as database
from ..models import User
from ..web.forms import ConfirmForm
from ..web.gates import (
    require_fresh_sign_in,
    start_session,
)
from .blueprint import bp, staff_only
from .forms import (
    SetupCodeForm,
)


@bp.get("/account/two-step")
@login_required
def two_step() -> str:
    """Two-step sign-in: its state, the set-up (secret, address, QR code), or what to do."""
    user = staff_only()
    setting_up = user.totp_secret is not None and not user.mfa_enabled
    left = mfa.recovery_codes_left(database.session(), user) if user.mfa_enabled else 0
    return _two_step_page(user, SetupCodeForm(), show_secret=setting_up, codes_left=left)


def _two_step_page(user: User, form: SetupCodeForm, *, show_secret: bool, codes_left: int) -> str:
    """The two-step page, with the secret and its QR code when they are to be shown."""
    uri = mfa.provisioning_uri(user) if show_secret else None
    return render_template(
        "auth/two_step.html",
        user=user,
        setting_up=user.totp_secret is not None and not user.mfa_enabled,
        secret=user.totp_secret if show_secret else None,
        uri=uri,
        qr=mfa.qr_svg(uri) if uri else None,
        form=form,
        button=ConfirmForm(),
        codes_left=codes_left,
        required=user.practice.mfa_required,
    )


@bp.post("/account/two-step/start")
@login_required
@require_fresh_sign_in
def two_step_start() -> BaseResponse:
    """Make a new secret for the authenticator app (not switched on until confirmed)."""
    user = staff_only()
    try:
        mfa.begin_setup(user)
    except mfa.MfaError as error:
        flash(error.message, "error")
    return redirect(url_for("auth.two_step"))


@bp.post("/account/two-step/confirm")
@login_required
@require_fresh_sign_in
@throttle.limiter.limit(throttle.SIGN_IN_LIMIT)
def two_step_confirm() -> BaseResponse | tuple[str, int] | str:
    """Switch two-step sign-in on with a first code; show the recovery codes once."""
    user = staff_only()
    form = SetupCodeForm()
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_setup(database.session(), user, form.code.data or "")
        except mfa.MfaError as error:
            if error.field is None:
                flash(error.message, "error")
                return redirect(url_for("auth.two_step"))
            form.code.errors = [error.message]
        else:
            user.end_all_sessions()  # sessions opened with the password alone end
            start_session(user)
            audit.record("change", "account_mfa", user.id)
            return render_template("auth/recovery_codes.html", codes=codes, first=True)
    shown = user.totp_secret is not None
    return _two_step_page(user, form, show_secret=shown, codes_left=0), 422


@bp.post("/account/two-step/recovery-codes")
@login_required
@require_fresh_sign_in
def two_step_recovery_codes() -> BaseResponse | str:
    """Replace the recovery codes with ten new ones (the old ones stop working)."""
    user = staff_only()
    if not user.mfa_enabled:
        return redirect(url_for("auth.two_step"))
    codes = mfa.new_recovery_codes(database.session(), user)
    audit.record("change", "recovery_code", user.id)
    return render_template("auth/recovery_codes.html", codes=codes, first=False)


@bp.post("/account/two-step/off")
@login_required
@require_fresh_sign_in
def two_step_off() -> BaseResponse:
    """Turn two-step sign-in off (the secret and recovery codes are forgotten)."""
    user = staff_only()
    if user.totp_secret is not None:
        mfa.turn_off(database.session(), user)
        audit.record("change", "account_mfa", user.id)
    if user.practice.mfa_required:
        flash("Two-step sign-in is off. Your practice requires it: set it up again now.", "info")
    else:
        flash("Two-step sign-in is off. You sign in with your password alone.", "info")
    return redirect(url_for("auth.two_step"))
