"""Session notes: start, write and sign a DAP note, add addenda, settle a conflicting save."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import audit, notes
from .. import db as database
from ..errors import DomainError
from ..models import SessionNote, SessionNoteRevision, User
from ..reports.note_sources import note_sources
from ..timeutil import local_today
from ..web.forms import ConfirmForm, date_arg, version_arg
from ..web.gates import signed_in_user
from .blueprint import bp, get_client_or_404, get_note_or_404, get_note_revision_or_404
from .forms import AddendumForm, SessionNoteForm


@bp.get("/clients/<int:client_id>/notes")
def notes_list(client_id: int) -> str:
    """The client's session notes, newest first."""
    client = get_client_or_404(client_id)
    therapist = signed_in_user()
    visible = notes.visible_to(database.session(), client, therapist)
    audit.record("view", "session_notes", subject_id=client.id)
    return render_template(
        "therapist/notes.html", client=client, notes=visible, today=local_today(therapist)
    )


@bp.post("/clients/<int:client_id>/notes")
def start_note(client_id: int) -> Response:
    """Start a draft note for a session, filled in from the record."""
    client = get_client_or_404(client_id)
    therapist = signed_in_user()
    day = date_arg(request.form.get("session_date")) or local_today(therapist)
    note, new = notes.open_or_start_note(database.session(), client, therapist, day)
    if new:
        audit.record("create", "session_note", note.id, subject_id=client.id)
    else:
        flash(f"Your draft for {day:%d %b %Y} is open again: one note per session.", "info")
    return redirect(url_for("therapist.note", client_id=client.id, note_id=note.id))


@bp.route("/clients/<int:client_id>/notes/<int:note_id>", methods=["GET", "POST"])
def note(client_id: int, note_id: int) -> Response | tuple[str, int]:
    """Read a note, or edit it while it is a draft (and save and sign it)."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    if request.method == "GET":
        audit.record("view", "session_note", item.id, subject_id=client.id)
        return _note_page(client, item, SessionNoteForm(obj=item, version=str(item.version)))
    db, form = database.session(), SessionNoteForm()
    if not form.validate_on_submit():
        return _note_page(client, item, form, status=422)
    signing = request.form.get("action") == "sign"
    values = {name: getattr(form, name).data for name in notes.EDITABLE}  # a field is "data"
    version = version_arg(form.version.data)
    try:
        revision = notes.write(db, item, signed_in_user(), version, values, sign_it=signing)
    except DomainError as error:
        place = getattr(form, error.field, None) if error.field else None
        if place is not None:  # a problem with one field: say it next to the field
            place.errors = [*place.errors, error.message]
            return _note_page(client, item, form, status=422)
        return _note_page(client, item, form, notice=error.message, status=409)
    if revision is not None:
        database.keep_changes()  # both versions are kept; the therapist chooses
        return _note_conflict_page(client, item, revision)
    _audit_saved(client, item, signed=signing)
    flash("Note signed." if signing else "Draft saved.", "success")
    return redirect(url_for("therapist.note", client_id=client.id, note_id=item.id))


def _audit_saved(client: User, item: SessionNote, *, signed: bool = False) -> None:
    audit.record("change", "session_note", item.id, subject_id=client.id)
    if signed:
        audit.record("sign", "session_note", item.id, subject_id=client.id)


def _note_page(
    client: User,
    item: SessionNote,
    form: SessionNoteForm,
    *,
    addendum_form: AddendumForm | None = None,
    notice: str | None = None,
    status: int = 200,
) -> tuple[str, int]:
    """The note (editable while it is the signed-in therapist's draft) and its addenda."""
    db = database.session()
    author = db.get(User, item.therapist_id) if item.therapist_id else None
    mine = item.therapist_id == signed_in_user().id
    # Beside a draft: the week's material as of the note's saved session date.
    sources = (
        note_sources(db, client, item.session_date) if item.status == "draft" and mine else None
    )
    return render_template(
        "therapist/note.html",
        sources=sources,
        client=client,
        note=item,
        form=form,
        notice=notice,
        addendum_form=addendum_form or AddendumForm(),
        author=author,
        mine=mine,
    ), status


def _note_conflict_page(
    client: User, item: SessionNote, revision: SessionNoteRevision
) -> tuple[str, int]:
    """The note as saved now and as just typed, side by side, with a choice."""
    author = database.session().get(User, item.therapist_id) if item.therapist_id else None
    return render_template(
        "therapist/note_conflict.html",
        client=client,
        note=item,
        revision=revision,
        saved=notes.fields_of(item),
        typed=notes.revision_values(revision),
        author=author,
        form=ConfirmForm(),
    ), 409


@bp.post("/clients/<int:client_id>/notes/<int:note_id>/conflicts/<int:revision_id>")
def resolve_note_conflict(
    client_id: int, note_id: int, revision_id: int
) -> Response | tuple[str, int]:
    """Keep the note as just typed, or as saved elsewhere; the other stays on file."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    revision = get_note_revision_or_404(item, revision_id)
    back = url_for("therapist.note", client_id=client.id, note_id=item.id)
    if request.form.get("keep") != "mine":
        flash("The saved note is kept. What you typed is kept on file.", "info")
        return redirect(back)
    version = version_arg(request.form.get("version"))
    try:
        notes.keep_set_aside(database.session(), item, signed_in_user(), revision, version)
    except notes.NoteConflict as conflict:
        return _note_conflict_page(client, conflict.note, revision)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(back)
    _audit_saved(client, item)
    flash("Your text is kept. The other version is kept on file.", "success")
    return redirect(back)


@bp.post("/clients/<int:client_id>/notes/<int:note_id>/addenda")
def add_addendum(client_id: int, note_id: int) -> Response | tuple[str, int]:
    """Add a dated addendum to a signed note."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    form = AddendumForm()
    if not form.validate_on_submit():
        return _note_page(client, item, SessionNoteForm(obj=item), addendum_form=form, status=422)
    try:
        notes.add_addendum(database.session(), item, signed_in_user(), form.text.data or "")
    except DomainError as error:
        flash(error.message, "error")
    else:
        _audit_saved(client, item)
        flash("Addendum added.", "success")
    return redirect(url_for("therapist.note", client_id=client.id, note_id=item.id))
