"""Appointment pages, at the book's URLs: list, create, detail, edit, delete."""

from __future__ import annotations

from typing import cast

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_security import auth_required, current_user
from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.core.db import MAX_INT
from app.core.http import page_or_404
from app.extensions import db
from app.scheduling.forms import (
    DELETED_MEANWHILE,
    EDIT_CONFLICT,
    AppointmentCreateForm,
    AppointmentEditForm,
    proposed_times,
)
from app.scheduling.models import Appointment

bp = Blueprint("scheduling", __name__, template_folder="../templates", url_prefix="/appointments")

# Ids past the database's integer range cannot exist: such a URL matches no page (404).
APPOINTMENT_ID = "<id:appointment_id>"


def get_own_appointment_or_404(appointment_id: int, gone: str | None = None) -> Appointment:
    """Return the current user's appointment, or answer 404 as if no other user's existed.

    ``gone`` is the 404's message, for a request about an appointment the user had in front of
    them, which can only have been deleted meanwhile.
    """
    return db.first_or_404(
        select(Appointment).filter_by(id=appointment_id, owner_id=current_user.id),
        description=gone,
    )


@bp.route("/")
@auth_required()
def appointment_list():
    query = (
        select(Appointment)
        .filter_by(owner_id=current_user.id)
        .order_by(Appointment.start, Appointment.id)
    )
    per_page = current_app.config["APPOINTMENTS_PER_PAGE"]
    page = db.paginate(query, page=page_or_404(max_page=MAX_INT // per_page), per_page=per_page)
    return render_template("scheduling/appointment_list.html", page=page)


@bp.route("/create/", methods=["GET", "POST"])
@auth_required()
def appointment_create():
    data = None
    if request.method == "GET":
        reminder = current_user.reminder_minutes_default
        data = {**proposed_times(request.args), "reminder_minutes": reminder}
    form = AppointmentCreateForm(data=data)
    overlaps = []
    if form.validate_on_submit():
        made_before = _made_by_form(form.idempotency_key.data)
        if made_before is not None:
            return _already_created(made_before)
        overlaps = form.overlaps_to_confirm(current_user)
        if not overlaps:
            appointment = Appointment(owner=current_user)
            form.populate_obj(appointment)
            db.session.add(appointment)
            try:
                db.session.commit()
            except IntegrityError:
                # The same form, sent again while this one was saving, got there first.
                db.session.rollback()
                made_before = _made_by_form(form.idempotency_key.data)
                if made_before is None:
                    raise
                return _already_created(made_before)
            flash(_("Appointment “%(title)s” created.", title=appointment.title), "success")
            return redirect(url_for(".appointment_detail", appointment_id=appointment.id))
    return render_template(
        "scheduling/appointment_form.html", form=form, appointment=None, overlaps=overlaps
    )


def _made_by_form(key: str | None) -> Appointment | None:
    """The current user's appointment that the create form with this key made, if any."""
    if key is None:
        return None
    return db.session.scalar(
        select(Appointment).filter_by(owner_id=current_user.id, idempotency_key=key)
    )


def _already_created(appointment: Appointment):
    flash(
        _(
            "Appointment “%(title)s” was already created; it was not added twice.",
            title=appointment.title,
        ),
        "info",
    )
    return redirect(url_for(".appointment_detail", appointment_id=appointment.id))


@bp.route(f"/{APPOINTMENT_ID}/")
@auth_required()
def appointment_detail(appointment_id: int):
    appointment = get_own_appointment_or_404(appointment_id)
    return render_template("scheduling/appointment_detail.html", appointment=appointment)


@bp.route(f"/{APPOINTMENT_ID}/edit/", methods=["GET", "POST"])
@auth_required()
def appointment_edit(appointment_id: int):
    gone = str(DELETED_MEANWHILE) if request.method == "POST" else None
    appointment = get_own_appointment_or_404(appointment_id, gone)
    form = AppointmentEditForm(obj=appointment)
    overlaps = []
    if form.is_submitted():
        valid = form.validate()
        if form.version.errors:
            return render_edit_form(form, appointment), 400
        if form.is_stale(appointment):
            return render_edit_form(form, appointment, conflict=EDIT_CONFLICT), 409
        if valid:
            overlaps = form.overlaps_to_confirm(current_user, editing=appointment)
        if valid and not overlaps:
            form.populate_obj(appointment)
            try:
                db.session.commit()
            except StaleDataError:
                # Changed or deleted between our read and our write: the UPDATE matched no row.
                db.session.rollback()
                appointment = get_own_appointment_or_404(appointment_id, gone)
                return render_edit_form(form, appointment, conflict=EDIT_CONFLICT), 409
            flash(_("Appointment “%(title)s” saved.", title=appointment.title), "success")
            return redirect(url_for(".appointment_detail", appointment_id=appointment.id))
    return render_edit_form(form, appointment, overlaps=overlaps)


def render_edit_form(form, appointment: Appointment, overlaps=(), conflict=None) -> str:
    """Show the edit form as filled in, with the overlaps to confirm or why it was refused."""
    return render_template(
        "scheduling/appointment_form.html",
        form=form,
        appointment=appointment,
        overlaps=overlaps,
        conflict=conflict,
    )


@bp.route(f"/{APPOINTMENT_ID}/delete/", methods=["DELETE"])
@auth_required()
def appointment_delete(appointment_id: int):
    gone = str(DELETED_MEANWHILE)
    appointment = get_own_appointment_or_404(appointment_id, gone)
    title = appointment.title
    # Whatever version it has now: the request carries none. A plain DELETE rather than the
    # ORM's, which would refuse (StaleDataError) a row an edit changed since it was loaded.
    deleted = cast(
        CursorResult,
        db.session.execute(
            delete(Appointment).filter_by(id=appointment_id, owner_id=current_user.id)
        ),
    )
    if deleted.rowcount != 1:
        abort(404, gone)
    db.session.commit()
    flash(_("Appointment “%(title)s” deleted.", title=title), "success")
    return jsonify(status="OK")
