"""The bare reference page: the measured month as a grid, with no layout, as a yardstick.

It does what a month view cannot do less of: check the session, run one query for the user's
appointments in the 42-day grid, and render each with a link and two times. The calendar views
are measured against it in the same run, served by the same uWSGI.

It shows single appointments only, neither series nor their exceptions: a yardstick that stays
the same whatever the benchmark's series (bench/data.py), so its figures compare with those
measured before there were any.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask import Blueprint, abort, render_template
from flask_security import auth_required, current_user

from app.core.timezones import user_timezone
from app.extensions import db
from app.scheduling.models import Appointment
from bench.scenario import month_grid

bp = Blueprint("bench", __name__, template_folder="templates", url_prefix="/bench")


@bp.route("/reference/<int:year>/<int:month>/")
@auth_required()
def reference_month(year: int, month: int):
    if not (1 <= month <= 12 and 1 <= year <= 9999):
        abort(404)
    tz = user_timezone()
    days = month_grid(year, month)
    start = datetime.combine(days[0], time.min, tzinfo=tz)
    end = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=tz)
    cells = {day: [] for day in days}
    singles = Appointment.overlapping(current_user, start, end).where(
        Appointment.series_id.is_(None)
    )
    for appointment in db.session.scalars(singles):
        local_start, local_end = appointment.start.astimezone(tz), appointment.end.astimezone(tz)
        # One that began before the grid shows in its first cell.
        cells[max(local_start.date(), days[0])].append((appointment, local_start, local_end))
    entries = list(cells.items())
    weeks = [entries[n : n + 7] for n in range(0, len(entries), 7)]
    return render_template("bench/reference.html", weeks=weeks)
