"""Appointment pages, at the book's URLs: list, create, detail, edit, delete."""

from __future__ import annotations

from flask import (
    Blueprint,
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
from sqlalchemy import select

from app.extensions import db
from app.scheduling.forms import AppointmentForm, proposed_times
from app.scheduling.models import Appointment

bp = Blueprint("scheduling", __name__, template_folder="../templates", url_prefix="/appointments")

# Ids past a 32-bit integer cannot exist; refusing them early keeps every database happy.
APPOINTMENT_ID = "<int(max=2147483647):appointment_id>"


def get_own_appointment_or_404(appointment_id: int) -> Appointment:
    """Return the current user's appointment, or answer 404 as if no other user's existed."""
    return db.first_or_404(
        select(Appointment).filter_by(id=appointment_id, owner_id=current_user.id)
    )


@bp.route("/")
@auth_required()
def appointment_list():
    query = (
        select(Appointment)
        .filter_by(owner_id=current_user.id)
        .order_by(Appointment.start, Appointment.id)
    )
    page = db.paginate(query, per_page=current_app.config["APPOINTMENTS_PER_PAGE"])
    return render_template("scheduling/appointment_list.html", page=page)


@bp.route("/create/", methods=["GET", "POST"])
@auth_required()
def appointment_create():
    data = None
    if request.method == "GET":
        reminder = current_user.reminder_minutes_default
        data = {**proposed_times(request.args), "reminder_minutes": reminder}
    form = AppointmentForm(data=data)
    overlaps = []
    if form.validate_on_submit():
        overlaps = form.overlaps_to_confirm(current_user)
        if not overlaps:
            appointment = Appointment(owner=current_user)
            form.populate_obj(appointment)
            db.session.add(appointment)
            db.session.commit()
            flash(_("Appointment “%(title)s” created.", title=appointment.title), "success")
            return redirect(url_for(".appointment_detail", appointment_id=appointment.id))
    return render_template(
        "scheduling/appointment_form.html", form=form, appointment=None, overlaps=overlaps
    )


@bp.route(f"/{APPOINTMENT_ID}/")
@auth_required()
def appointment_detail(appointment_id: int):
    appointment = get_own_appointment_or_404(appointment_id)
    return render_template("scheduling/appointment_detail.html", appointment=appointment)


@bp.route(f"/{APPOINTMENT_ID}/edit/", methods=["GET", "POST"])
@auth_required()
def appointment_edit(appointment_id: int):
    appointment = get_own_appointment_or_404(appointment_id)
    form = AppointmentForm(obj=appointment)
    overlaps = []
    if form.validate_on_submit():
        overlaps = form.overlaps_to_confirm(current_user, editing=appointment)
        if not overlaps:
            form.populate_obj(appointment)
            db.session.commit()
            flash(_("Appointment “%(title)s” saved.", title=appointment.title), "success")
            return redirect(url_for(".appointment_detail", appointment_id=appointment.id))
    return render_template(
        "scheduling/appointment_form.html", form=form, appointment=appointment, overlaps=overlaps
    )


@bp.route(f"/{APPOINTMENT_ID}/delete/", methods=["DELETE"])
@auth_required()
def appointment_delete(appointment_id: int):
    appointment = get_own_appointment_or_404(appointment_id)
    title = appointment.title
    db.session.delete(appointment)
    db.session.commit()
    flash(_("Appointment “%(title)s” deleted.", title=title), "success")
    return jsonify(status="OK")
