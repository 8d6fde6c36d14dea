"""The caseload: every client in care at a glance, and adding a client."""

from __future__ import annotations

from flask import render_template, request, url_for
from werkzeug.wrappers import Response

from .. import (
    accounts,
    alerts,
    audit,
    dashboard,
    tracking,
)
from .. import db as database
from ..db import utcnow
from ..timeutil import local_today
from ..web.gates import signed_in_user
from ..web.invitations import hand_out_link
from .blueprint import (
    bp,
)
from .forms import (
    NewClientForm,
)

# A client's name is at most 120 characters (NewClientForm); the box takes as many.
SEARCH_MAX = 120


@bp.get("/")
def caseload() -> str:
    """The caseload dashboard: every client in care, open alerts first; the name search
    (a plain GET form), filters and sort orders live in the address, so a view can be
    bookmarked and works without JavaScript."""
    therapist = signed_in_user()
    view = dashboard.pick(request.args.get("filter"), dashboard.FILTERS, "all")
    order = dashboard.pick(request.args.get("sort"), dashboard.SORTS, "alerts")
    query = " ".join(request.args.get("q", "").split())[:SEARCH_MAX]
    rows = dashboard.caseload(database.session(), therapist, local_today(therapist), utcnow())
    found = dashboard.search(rows, query)
    shown = dashboard.sorted_rows(dashboard.filtered(found, view), order)
    dashboard.draw_sparklines(shown)
    dashboard.draw_chips(shown)
    # The filters count within the search: "Needs attention (2)" among the names found.
    counts = {name: len(dashboard.filtered(found, name)) for name in dashboard.FILTERS}
    return render_template(
        "therapist/caseload.html",
        rows=shown,
        total=len(rows),
        found=len(found),
        query=query,
        search_max=SEARCH_MAX,
        counts=counts,
        view=view,
        order=order,
        open_alerts=dashboard.open_alerts(rows),
        kind_words=alerts.KIND_WORDS,
        on_track_name=tracking.NAME,
        # Each row links to its record: the address built once, not once per row (url_for
        # was a tenth of the page at 1,500 clients).
        record_url=url_for("therapist.client_record", client_id=0).removesuffix("0"),
    )


@bp.route("/clients/new", methods=["GET", "POST"])
def new_client() -> Response | str | tuple[str, int]:
    """Add a client; the therapist gets a one-time invitation link to pass on."""
    form = NewClientForm()
    if form.validate_on_submit():
        therapist = signed_in_user()
        db = database.session()
        try:
            client = accounts.add_client(
                db, therapist, form.display_name.data or "", form.email.data
            )
        except accounts.AccountError as error:
            getattr(form, error.field or "email").errors = [error.message]
        else:
            audit.record("create", "account", client.id, subject_id=client.id)
            back = url_for("therapist.client_record", client_id=client.id)
            return hand_out_link(client, back, f"Go to {client.display_name}", email=False)
    status = 422 if request.method == "POST" else 200
    return render_template("therapist/new_client.html", form=form), status
