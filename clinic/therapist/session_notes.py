"""Session notes: start, write and sign a DAP note, add addenda, settle a conflicting save."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from .. import (
    audit,
    notes,
)
from .. import db as database
from ..errors import DomainError
from ..models import (
    SessionNote,
    SessionNoteRevision,
    User,
)
from ..timeutil import local_today
from ..web.forms import ConfirmForm, date_arg, int_arg
from ..web.gates import signed_in_user
from .blueprint import (
    bp,
    get_client_or_404,
    get_note_or_404,
)
from .forms import (
    AddendumForm,
    SessionNoteForm,
)


@bp.get("/clients/<int:client_id>/notes")
def notes_list(client_id: int) -> str:
    """The client's session notes, newest first."""
    client = get_client_or_404(client_id)
    db = database.session()
    therapist = signed_in_user()
    visible = [
        n
        for n in notes.notes_of(db, client)
        if n.status == "signed" or n.therapist_id == therapist.id
    ]
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
    note = notes.start_note(database.session(), client, therapist, day)
    audit.record("create", "session_note", note.id, subject_id=client.id)
    return redirect(url_for("therapist.note", client_id=client.id, note_id=note.id))


@bp.route("/clients/<int:client_id>/notes/<int:note_id>", methods=["GET", "POST"])
def note(client_id: int, note_id: int) -> Response | str | tuple[str, int]:
    """Read a note, or edit it while it is a draft (and save and sign it)."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    db = database.session()
    form = SessionNoteForm(obj=item if request.method == "GET" else None)
    notice = None
    status = 200
    if request.method == "GET":
        form.version.data = str(item.version)
        audit.record("view", "session_note", item.id, subject_id=client.id)
    elif form.validate_on_submit():
        values = {
            name: getattr(form, name).data
            for name in (
                *notes.NOTE_FIELDS,
                "session_date",
                "duration_minutes",
                "attendance",
                "format",
            )
        }
        signing = request.form.get("action") == "sign"
        try:
            notes.save(db, item, signed_in_user(), int(form.version.data or 0), values)
            audit.record("change", "session_note", item.id, subject_id=client.id)
            if signing:
                notes.sign(db, item, signed_in_user())
                audit.record("sign", "session_note", item.id, subject_id=client.id)
        except notes.NoteConflict as conflict:
            # Both versions are kept: the typed one is filed now, and the therapist chooses.
            revision = notes.set_aside(db, conflict.note, signed_in_user(), values, "conflict")
            database.keep_changes()
            return _note_conflict_page(client, conflict.note, revision)
        except DomainError as error:
            notice, status = error.message, 409
        else:
            flash("Note signed." if signing else "Draft saved.", "success")
            return redirect(url_for("therapist.note", client_id=client.id, note_id=item.id))
    else:
        status = 422
    return render_template(
        "therapist/note.html",
        client=client,
        note=item,
        form=form,
        notice=notice,
        addendum_form=AddendumForm(),
        author=db.get(User, item.therapist_id) if item.therapist_id else None,
        mine=item.therapist_id == signed_in_user().id,
    ), status


def _note_conflict_page(
    client: User, item: SessionNote, revision: SessionNoteRevision
) -> tuple[str, int]:
    """The note as saved now and as just typed, side by side, with a choice."""
    db = database.session()
    author = db.get(User, item.therapist_id) if item.therapist_id else None
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
    db = database.session()
    revision = db.scalar(
        sa.select(SessionNoteRevision).where(
            SessionNoteRevision.id == revision_id,
            SessionNoteRevision.note_id == item.id,
            SessionNoteRevision.reason == "conflict",
        )
    )
    if revision is None:
        abort(404)
    back = url_for("therapist.note", client_id=client.id, note_id=item.id)
    if request.form.get("keep") != "mine":
        flash("The saved note is kept. What you typed is kept on file.", "info")
        return redirect(back)
    try:
        notes.keep_set_aside(
            db, item, signed_in_user(), revision, int_arg(request.form.get("version"))
        )
    except notes.NoteConflict as conflict:
        return _note_conflict_page(client, conflict.note, revision)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(back)
    audit.record("change", "session_note", item.id, subject_id=client.id)
    flash("Your text is kept. The other version is kept on file.", "success")
    return redirect(back)


@bp.post("/clients/<int:client_id>/notes/<int:note_id>/addenda")
def add_addendum(client_id: int, note_id: int) -> Response | tuple[str, int]:
    """Add a dated addendum to a signed note."""
    client = get_client_or_404(client_id)
    item = get_note_or_404(client, note_id)
    form = AddendumForm()
    if form.validate_on_submit():
        try:
            notes.add_addendum(database.session(), item, signed_in_user(), form.text.data or "")
        except DomainError as error:
            flash(error.message, "error")
        else:
            audit.record("change", "session_note", item.id, subject_id=client.id)
            flash("Addendum added.", "success")
        return redirect(url_for("therapist.note", client_id=client.id, note_id=item.id))
    db = database.session()
    return render_template(
        "therapist/note.html",
        client=client,
        note=item,
        form=SessionNoteForm(obj=item),
        notice=None,
        addendum_form=form,
        author=db.get(User, item.therapist_id) if item.therapist_id else None,
        mine=item.therapist_id == signed_in_user().id,
    ), 422
