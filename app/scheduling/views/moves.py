"""Moving and resizing an appointment from the calendar (drag, or the keyboard), as JSON.

The week and day views' script sends the new start and end with the version the page was
drawn from; the answer is the appointment's new times and version, or a JSON error: 400 with
the fields at fault, 404 for what is not the user's, 409 for a page older than the
appointment (the edit form's lost-update rule). An occurrence of a series moves alone, as
"only this one" in the form: it becomes (or stays) a changed occurrence. What the page's
version is of: the appointment's own row, a changed occurrence's own row, a planned
occurrence's series (each box of the calendar carries it, occurrences.Instance.version).
Without JavaScript the edit form does the same.
"""

from __future__ import annotations

from flask import Blueprint, abort, jsonify
from flask_security import auth_required
from flask_wtf import FlaskForm
from sqlalchemy.orm.exc import StaleDataError
from werkzeug import Response

from app.core.fields import LocalDateTimeField
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import UTC, local_midnight
from app.extensions import db
from app.scheduling import series as series_changes
from app.scheduling.forms import EDIT_CONFLICT, END_BEFORE_START, VersionField
from app.scheduling.models import Appointment
from app.scheduling.views.appointments import APPOINTMENT_ID, Opened, open_or_404

bp = Blueprint("moves", __name__, url_prefix="/appointments")


class MoveForm(FlaskForm):
    """The new times of an appointment moved in the calendar, and the version it was drawn at."""

    start = LocalDateTimeField(_l("Start"))
    end = LocalDateTimeField(_l("End"))
    version = VersionField()

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.end.data < self.start.data:
            self.end.errors.append(END_BEFORE_START)
            return False
        return True


@bp.route(f"/{APPOINTMENT_ID}/move/", methods=["POST"])
@auth_required()
def appointment_move(appointment_id: int):
    """Give the appointment (or, with ``?occurrence=``, one occurrence) new times."""
    opened = open_or_404(appointment_id)
    if isinstance(opened, Response):  # the page showed an occurrence that was changed since
        abort(409, description=str(EDIT_CONFLICT))
    form = MoveForm()
    if not form.validate_on_submit():
        return _field_errors(form)
    # The row the page drew: the appointment, a changed occurrence, a planned one's series.
    if form.version.data != opened.appointment.version:
        abort(409, description=str(EDIT_CONFLICT))
    moved = _movable(opened)
    start, end = form.start.data, form.end.data
    if moved.all_day:
        # Whole days on the user's clock, as the form keeps them.
        start, end = (local_midnight(moment.date(), moment.tzinfo) for moment in (start, end))
    moved.start, moved.end = start.astimezone(UTC), end.astimezone(UTC)
    if opened.series is not None:
        series_changes.touch(opened.series)
    try:
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        abort(409, description=str(EDIT_CONFLICT))
    return jsonify(
        id=moved.id,
        start=moved.start.isoformat(),
        end=moved.end.isoformat(),
        version=moved.version,
    )


def _movable(opened: Opened) -> Appointment:
    """The row that takes the new times: the appointment, or the occurrence's exception (made
    now for an occurrence still as its series plans it)."""
    if opened.series is None:
        return opened.appointment
    series = opened.series
    if opened.appointment is not series:
        return opened.appointment
    return series_changes.make_exception(series, opened.recurrence_id)


def _field_errors(form: MoveForm):
    """400 with each field's errors, and the first of them as the message."""
    fields = {name: [str(error) for error in errors] for name, errors in form.errors.items()}
    message = next(iter(fields.values()))[0] if fields else ""
    response = jsonify(error={"code": 400, "message": message, "fields": fields})
    response.status_code = 400
    return response
