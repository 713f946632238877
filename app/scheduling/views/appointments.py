"""Appointment pages, at the book's URLs: list, create, detail, edit, delete."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
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
from werkzeug import Response

from app.core.db import MAX_INT
from app.core.gettext import lazy_gettext as _l
from app.core.http import page_or_404
from app.core.timezones import UTC
from app.extensions import db
from app.scheduling import series as series_changes
from app.scheduling.forms import (
    COLOR_CHOICES,
    DELETED_MEANWHILE,
    EDIT_CONFLICT,
    KEEP_RULE,
    AppointmentCreateForm,
    AppointmentEditForm,
    DeleteForm,
    OccurrenceEditForm,
    proposed_times,
    repeat_data,
)
from app.scheduling.models import Appointment, calendar_changed
from app.scheduling.occurrences import Instance, parse_stamp
from app.scheduling.recurrence import Occurrence, Recurrence, RuleError, parse_rule, rule_parts
from app.scheduling.series import SHARED_FIELDS
from app.scheduling.summary import describe

bp = Blueprint("scheduling", __name__, template_folder="../templates", url_prefix="/appointments")

NO_SUCH_OCCURRENCE = _l("This series has no such occurrence: it was deleted, or never planned.")

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


@dataclass
class Opened:
    """The appointment a page is about: a single one, or one occurrence of a series (as
    planned, or an exception) with its series."""

    appointment: Appointment
    instance: Instance
    series: Appointment | None = None

    @property
    def recurrence_id(self) -> datetime:
        return cast(datetime, self.instance.recurrence_id)

    @property
    def exception(self) -> Appointment | None:
        appointment = self.appointment
        return None if appointment.is_series or self.series is None else appointment


def open_or_404(appointment_id: int, gone: str | None = None) -> Opened | Response:
    """What the URL names: a single appointment, an exception, a series (its first occurrence)
    or, with ``?occurrence=``, one occurrence of a series. An occurrence an exception replaced
    redirects to the exception; one deleted or never planned is a 404."""
    appointment = get_own_appointment_or_404(appointment_id, gone)
    if appointment.series_id is not None:
        series = db.session.get(Appointment, appointment.series_id)
        return Opened(appointment, Instance.of(appointment), series)
    if not appointment.is_series:
        return Opened(appointment, Instance.of(appointment))
    text = request.args.get("occurrence")
    recurrence_id = appointment.start if text is None else parse_stamp(text)
    if recurrence_id is None:
        abort(404, description=str(NO_SUCH_OCCURRENCE))
    exception = series_changes.exception_for(appointment, recurrence_id)
    if exception is not None:
        return redirect(_same_page(exception.id))
    occurrence = series_changes.occurrence_of(appointment, recurrence_id)
    if occurrence is None:
        abort(404, description=gone or str(NO_SUCH_OCCURRENCE))
    return Opened(appointment, Instance.occurring(appointment, occurrence), appointment)


def _same_page(appointment_id: int) -> str:
    """This page (detail, edit or delete) of another appointment."""
    return url_for(cast(str, request.endpoint), appointment_id=appointment_id)


@bp.route(f"/{APPOINTMENT_ID}/")
@auth_required()
def appointment_detail(appointment_id: int):
    opened = open_or_404(appointment_id)
    if not isinstance(opened, Opened):
        return opened
    return render_template(
        "scheduling/appointment_detail.html",
        appointment=opened.appointment,
        instance=opened.instance,
        series=opened.series,
        summary=_summary(opened.series),
        color_names=dict(COLOR_CHOICES),
    )


@bp.app_template_filter("repeat_summary")
def repeat_summary(appointment: Appointment) -> str:
    """How a series repeats, in the user's language ("" for the rest)."""
    return _summary(appointment) or ""


def _summary(series: Appointment | None) -> str | None:
    recurrence = None if series is None else series.recurrence
    if recurrence is None:
        return None
    return describe(recurrence.rule, recurrence.start, recurrence.all_day)


@bp.route(f"/{APPOINTMENT_ID}/edit/", methods=["GET", "POST"])
@auth_required()
def appointment_edit(appointment_id: int):
    gone = str(DELETED_MEANWHILE) if request.method == "POST" else None
    opened = open_or_404(appointment_id, gone)
    if not isinstance(opened, Opened):
        return opened
    if opened.series is not None:
        return edit_occurrence(opened, gone)
    appointment = opened.appointment
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


def edit_occurrence(opened: Opened, gone: str | None):
    """Edit one occurrence of a series, it and the following ones, or all of them."""
    series = cast(Appointment, opened.series)
    instance = opened.instance
    recurrence = cast(Recurrence, series.recurrence)
    planned_start = opened.recurrence_id.astimezone(recurrence.zone)
    data = None
    if request.method == "GET":
        source = opened.exception or series
        data = {
            **{name: getattr(source, name) for name in SHARED_FIELDS},
            "start": instance.start,
            "end": instance.end,
            "version": series.version,
            # Opened as the series (from the list): all of it, else this occurrence alone.
            "scope": "all" if opened.recurrence_id == series.start else "this",
        }
    form = OccurrenceEditForm(data=data)
    form.series_zone = recurrence.zone
    form.moved_from = instance.start.astimezone(recurrence.zone)
    count_before = series_changes.occurrences_before(series, opened.recurrence_id)
    parts = rule_parts(recurrence.rule)
    remaining = int(parts["COUNT"]) - count_before if "COUNT" in parts else None
    shown_rule = repeat_data(recurrence.rule, planned_start, remaining)
    if shown_rule is None:
        form.offer_kept_rule(recurrence.rule, _summary(series) or recurrence.rule)
        if not form.is_submitted():
            form.repeat.data = KEEP_RULE
    elif not form.is_submitted():
        form.fill_repeat(shown_rule)
    overlaps: list[Instance] = []
    context = {"instance": instance, "summary": _summary(series), "link": opened.instance.link}
    if form.is_submitted():
        valid = form.validate()
        if form.version.errors:
            return render_edit_form(form, series, **context), 400
        if form.is_stale(series):
            return render_edit_form(form, series, conflict=EDIT_CONFLICT, **context), 409
        if valid:
            overlaps = form.overlaps_to_confirm(current_user, editing=series)
        if valid and not overlaps:
            try:
                shown = apply_occurrence_edit(form, opened, count_before)
                db.session.commit()
            except RuleError as error:
                db.session.rollback()
                form.repeat.errors = [error.message]
                return render_edit_form(form, series, **context), 400
            except StaleDataError:
                db.session.rollback()
                open_or_404(series.id, gone)
                return render_edit_form(form, series, conflict=EDIT_CONFLICT, **context), 409
            flash(_("Appointment “%(title)s” saved.", title=shown.title), "success")
            return redirect(url_for(".appointment_detail", **shown.link))
    return render_edit_form(form, series, overlaps=overlaps, **context)


def apply_occurrence_edit(form: OccurrenceEditForm, opened: Opened, count_before: int) -> Instance:
    """Change the occurrence, it and the following ones, or the whole series as the form
    says; return the instance to show afterwards. RuleError: the rule no longer fits."""
    series = cast(Appointment, opened.series)
    zone = cast(Recurrence, series.recurrence).zone
    scope = form.scope.data
    if scope == "this":
        exception = opened.exception or series_changes.make_exception(series, opened.recurrence_id)
        form.populate_occurrence(exception)
        series_changes.touch(series)
        db.session.flush()
        return Instance.of(exception)
    moved_by = _on_clock(form.start.data, zone) - _on_clock(opened.instance.start, zone)
    if scope == "following" and opened.recurrence_id > series.start:
        target = series_changes.split(series, opened.recurrence_id).after
        form.populate_obj(target)
    else:
        target = series
        first = (_on_clock(series.start, zone) + moved_by).replace(tzinfo=zone)
        length = form.end.data - form.start.data
        if series.all_day:
            length = _on_clock(form.end.data, zone) - _on_clock(form.start.data, zone)
        rule = form.rule
        if rule is not None and count_before:
            parts = rule_parts(rule)
            if "COUNT" in parts:
                parts["COUNT"] = str(int(parts["COUNT"]) + count_before)
                rule = ";".join(f"{name}={value}" for name, value in parts.items())
        if rule is not None:
            rule = parse_rule(rule, first)
        if opened.exception is not None:
            form.populate_occurrence(opened.exception)
        form.populate_occurrence(series)
        series.rrule, series.series_timezone = rule, form.series_timezone
        series.start = first.astimezone(UTC)
        series.end = (
            (first.replace(tzinfo=None) + length).replace(tzinfo=zone).astimezone(UTC)
            if series.all_day
            else series.start + length
        )
    orphans = series_changes.change_series(target, moved_by, target.rrule)
    if orphans:
        flash(series_changes.kept_apart_message(len(orphans)), "info")
    db.session.flush()
    if target.rrule is None:
        return Instance.of(target)
    return Instance.occurring(target, Occurrence(target.start, target.end))


def _on_clock(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def render_edit_form(form, appointment: Appointment, overlaps=(), conflict=None, **context) -> str:
    """Show the edit form as filled in, with the overlaps to confirm or why it was refused."""
    return render_template(
        "scheduling/appointment_form.html",
        form=form,
        appointment=appointment,
        overlaps=overlaps,
        conflict=conflict,
        **context,
    )


@bp.route(f"/{APPOINTMENT_ID}/delete/occurrences/", methods=["GET", "POST"])
@auth_required()
def appointment_delete_page(appointment_id: int):
    """Delete from a page: asked to confirm, and for an occurrence of a series, which ones
    (the plain DELETE of /delete/, which the delete buttons send, deletes one appointment or a
    whole series)."""
    gone = str(DELETED_MEANWHILE) if request.method == "POST" else None
    opened = open_or_404(appointment_id, gone)
    if not isinstance(opened, Opened):
        return opened
    series = opened.series
    guarded = series or opened.appointment
    form = DeleteForm(data={"version": guarded.version} if request.method == "GET" else None)
    if series is None:
        del form.scope
    context = {"instance": opened.instance, "series": series, "link": opened.instance.link}
    if form.is_submitted():
        if not form.validate():
            return render_template("scheduling/appointment_delete.html", form=form, **context), 400
        if form.version.data != guarded.version:
            return (
                render_template(
                    "scheduling/appointment_delete.html",
                    form=form,
                    conflict=EDIT_CONFLICT,
                    **context,
                ),
                409,
            )
        title = opened.instance.title
        if series is None:
            db.session.delete(guarded)
        elif form.scope.data == "this":
            series_changes.delete_occurrence(series, opened.recurrence_id)
        elif form.scope.data == "following":
            series_changes.delete_from(series, opened.recurrence_id)
        else:
            db.session.delete(series)
        try:
            db.session.commit()
        except StaleDataError:
            db.session.rollback()
            abort(409, description=str(EDIT_CONFLICT))
        flash(_("Appointment “%(title)s” deleted.", title=title), "success")
        return redirect(url_for("calendar.index"))
    return render_template("scheduling/appointment_delete.html", form=form, **context)


@bp.route(f"/{APPOINTMENT_ID}/delete/", methods=["DELETE"])
@auth_required()
def appointment_delete(appointment_id: int):
    gone = str(DELETED_MEANWHILE)
    appointment = get_own_appointment_or_404(appointment_id, gone)
    title = appointment.title
    if appointment.series_id is not None:
        # A changed occurrence: deleted, it leaves its date excluded, not the one planned.
        series = db.session.get(Appointment, appointment.series_id)
        series_changes.delete_occurrence(
            cast(Appointment, series), cast(datetime, appointment.recurrence_id)
        )
        db.session.commit()
        flash(_("Appointment “%(title)s” deleted.", title=title), "success")
        return jsonify(status="OK")
    # A single appointment, or a series with all its occurrences.
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
    calendar_changed(db.session, {current_user.id})
    db.session.commit()
    flash(_("Appointment “%(title)s” deleted.", title=title), "success")
    return jsonify(status="OK")
