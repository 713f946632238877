"""iCalendar pages: download appointments, the private subscription feed, and import."""

from __future__ import annotations

import io
import re
import unicodedata
from datetime import date, datetime
from typing import cast
from urllib.parse import urlsplit

from dateutil.relativedelta import relativedelta
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_security import auth_required, current_user
from icalendar import Calendar
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from werkzeug.http import is_resource_modified, remove_entity_headers

from app.accounts.models import User
from app.core.db import MAX_INT, now_utc
from app.core.errors import ERROR_TEXTS
from app.core.timezones import (
    MAX_YEAR,
    MIN_YEAR,
    in_calendar_years,
    local_days_in_utc,
    user_timezone,
    zone_named,
)
from app.extensions import db
from app.scheduling.feed import find_feed
from app.scheduling.forms import (
    IMPORT_MAX_BYTES,
    ImportConfirmForm,
    ImportUploadForm,
    import_idempotency_key,
)
from app.scheduling.ical import ParsedEvent, build_calendar
from app.scheduling.models import Appointment, ExcludedOccurrence, calendar_changed
from app.scheduling.occurrences import rows_between, with_series
from app.scheduling.views.appointments import APPOINTMENT_ID, get_own_appointment_or_404

bp = Blueprint("ical", __name__, template_folder="../templates")

EXPORT_MAX_DAYS = 366
FEED_MAX_AGE = 300  # seconds a calendar program may keep the feed before asking again


@bp.route(f"/appointments/{APPOINTMENT_ID}/ics")
@auth_required()
def appointment_ics(appointment_id: int):
    appointment = get_own_appointment_or_404(appointment_id)
    # A series whole, with its exceptions; an exception's file is its series'.
    appointments, excluded = with_series([appointment])
    calendar = build_calendar(
        appointments,
        user_timezone(),
        uid_host(),
        name=calendar_name(current_user),
        excluded=excluded,
    )
    return ics_response(calendar, download_name=f"{slugify(appointment.title)}.ics")


@bp.route("/calendar/export.ics")
@auth_required()
def export_range():
    """Send the appointments on the local days from..to, both included; this month by default."""
    tz = user_timezone()
    try:
        first, last = requested_days(request.args, today=now_utc().astimezone(tz).date())
    except ValueError as error:
        return bad_request(str(error))
    start, end = local_days_in_utc(first, last, tz)
    appointments, excluded = with_series(rows_between(current_user, start, end))
    calendar = build_calendar(
        appointments, tz, uid_host(), name=calendar_name(current_user), excluded=excluded
    )
    return ics_response(calendar, download_name=f"sched-{first}-{last}.ics")


@bp.route("/calendar/feed/<token>.ics")
def feed(token: str):
    """Send the token's owner's appointments to calendar programs; no login needed.

    What the feed holds and how its ETag is made: app/scheduling/feed.py. A program that sends
    the current ETag back in If-None-Match, or (without one) a Last-Modified date at least as
    late in If-Modified-Since, gets 304, for one query and no calendar built.
    """
    found = find_feed(token, today=now_utc().date())
    if found is None:
        abort(404)
    host = uid_host()
    etag = found.etag(host)
    if not is_resource_modified(request.environ, etag=etag, last_modified=found.stamp):
        response = current_app.response_class(status=304)
        remove_entity_headers(response.headers)
    else:
        owner = found.owner
        appointments, excluded = found.appointments()
        calendar = build_calendar(
            appointments,
            zone_named(owner.timezone),
            host,
            name=calendar_name(owner),
            publish=True,
            excluded=excluded,
            now=lambda: found.stamp,
        )
        response = ics_response(calendar)
    response.set_etag(etag)
    response.last_modified = found.stamp
    response.cache_control.private = True
    response.cache_control.max_age = FEED_MAX_AGE
    return response


@bp.route("/account/calendar-token", methods=["POST"])
@auth_required()
def regenerate_token():
    """Make a new feed address and show it, this once: the database keeps only its hash."""
    replaced = current_user.calendar_token_hash is not None
    token = current_user.regenerate_calendar_token()
    db.session.commit()
    page = render_template(
        "scheduling/feed_address.html",
        feed_url=url_for("ical.feed", token=token, _external=True),
        replaced=replaced,
    )
    # The page holds the secret: no cache may keep it.
    return page, 200, {"Cache-Control": "no-store"}


@bp.route("/calendar/import/", methods=["GET", "POST"])
@auth_required()
def import_upload():
    form = ImportUploadForm()
    if form.validate_on_submit():
        confirm = ImportConfirmForm(formdata=None, payload=form.payload)
        return render_template(
            "scheduling/import_preview.html",
            form=confirm,
            events=form.events_to_add,
            skipped=form.events_skipped,
            updates={
                event.uid
                for event in form.events_to_add
                if imported_before(current_user, event.uid) is not None
            },
            filename=form.file.data.filename,
        )
    return render_template(
        "scheduling/import_upload.html", form=form, max_kib=IMPORT_MAX_BYTES // 1024
    )


@bp.route("/calendar/import/confirm/", methods=["POST"])
@auth_required()
def import_confirm():
    form = ImportConfirmForm()
    if not form.validate_on_submit():
        # Nothing to confirm: the upload page again, saying why (400).
        for error in form.payload.errors:
            flash(error, "danger")
        return render_template(
            "scheduling/import_upload.html",
            form=ImportUploadForm(formdata=None),
            max_kib=IMPORT_MAX_BYTES // 1024,
        ), 400
    if form.key is not None and _imported_before(form.key, len(form.events)):
        return _already_imported()
    added = updated = 0
    try:
        for n, event in enumerate(form.events):
            appointment = imported_before(current_user, event.uid)
            if appointment is None:
                key = None if form.key is None else import_idempotency_key(form.key, n)
                appointment = Appointment(owner=current_user, idempotency_key=key)
                db.session.add(appointment)
                added += 1
            else:
                updated += 1
            fill_from_event(appointment, event)
        db.session.commit()
    except IntegrityError:
        # The same preview, confirmed again while this one was saving, got there first.
        db.session.rollback()
        if form.key is None or not _imported_before(form.key, len(form.events)):
            raise
        return _already_imported()
    if added:
        flash(
            ngettext("%(num)d appointment added.", "%(num)d appointments added.", added),
            "success",
        )
    if updated:
        flash(
            ngettext(
                "%(num)d appointment imported before was updated.",
                "%(num)d appointments imported before were updated.",
                updated,
            ),
            "success",
        )
    return redirect(url_for("scheduling.appointment_list"))


# What sched writes as an appointment's UID (ical.appointment_uid): its own, imported back.
OWN_UID = re.compile(r"appointment-(\d{1,18})-(\d{8}T\d{6}Z)@.+")


def imported_before(owner: User, uid: str) -> Appointment | None:
    """The owner's appointment that an event with this UID made, or that sched exported with
    it; None for a new one."""
    if not uid:
        return None
    found = db.session.scalar(select(Appointment).filter_by(owner_id=owner.id, ical_uid=uid))
    own = OWN_UID.fullmatch(uid)
    if found is None and own is not None and int(own.group(1)) <= MAX_INT:
        candidate = db.session.scalar(
            select(Appointment).filter_by(owner_id=owner.id, id=int(own.group(1)))
        )
        if candidate is not None and candidate.created.strftime("%Y%m%dT%H%M%SZ") == own.group(2):
            found = candidate
    if found is not None and found.series_id is not None:
        return None  # an exception carries its series' UID only in files
    return found


def fill_from_event(appointment: Appointment, event: ParsedEvent) -> None:
    """Make the appointment what the event says: its fields, and for a series its changed,
    added and excluded occurrences, in place of those it had."""
    for name, value in event.appointment_fields().items():
        setattr(appointment, name, value)
    if not OWN_UID.fullmatch(event.uid):
        appointment.ical_uid = event.uid or None
    if appointment.id is not None:
        db.session.execute(delete(Appointment).filter_by(series_id=appointment.id))
        db.session.execute(delete(ExcludedOccurrence).filter_by(series_id=appointment.id))
        calendar_changed(db.session, {appointment.owner_id})  # plain DELETEs: no flush hook
    if not event.repeats:
        return
    db.session.flush()  # the series' id, for its exceptions
    changed: dict[datetime, dict] = {}
    length = cast(datetime, event.end) - cast(datetime, event.start)
    for moment in event.added:  # RDATE: an occurrence more, as the series has it
        changed[moment] = {
            **event.appointment_fields(),
            "start": moment,
            "end": moment + length,
        }
    for change in event.changes:
        changed[cast(datetime, change.recurrence_id)] = change.appointment_fields()
    for recurrence_id, fields in changed.items():
        db.session.add(
            Appointment(
                owner=appointment.owner,
                **{**fields, "rrule": None, "series_timezone": None},
                series_id=appointment.id,
                recurrence_id=recurrence_id,
            )
        )
    db.session.add_all(
        ExcludedOccurrence(series_id=appointment.id, recurrence_id=moment)
        for moment in event.excluded
        if moment not in changed
    )


# ----------------------------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------------------------


def _imported_before(key: str, count: int) -> bool:
    """Whether the preview with this key has been confirmed (an event it added exists)."""
    keys = [import_idempotency_key(key, n) for n in range(count)]
    return (
        db.session.scalar(
            select(Appointment.id)
            .where(Appointment.owner_id == current_user.id, Appointment.idempotency_key.in_(keys))
            .limit(1)
        )
        is not None
    )


def _already_imported():
    flash(_("These appointments were already added; they were not added twice."), "info")
    return redirect(url_for("scheduling.appointment_list"))


def ics_response(calendar: Calendar, download_name: str | None = None):
    """Send a calendar as text/calendar; with a name, as a file to save (Flask's send_file)."""
    if download_name is None:
        return current_app.response_class(calendar.to_ical(), mimetype="text/calendar")
    response = send_file(
        io.BytesIO(calendar.to_ical()),
        mimetype="text/calendar",
        as_attachment=True,
        download_name=download_name,
        max_age=0,
    )
    # Someone's own appointments: kept by no cache, as every page of theirs (app/core/caching.py).
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response


def uid_host() -> str:
    """The host name that ends every appointment UID (ICAL_UID_DOMAIN): the same whatever
    name a request came by, or calendar programs would see each appointment twice."""
    config = current_app.config
    return config["ICAL_UID_DOMAIN"] or urlsplit(config["SITE_URL"]).hostname or "localhost"


def calendar_name(user: User) -> str:
    return f"sched · {user.full_name}" if user.full_name else "sched"


def slugify(title: str) -> str:
    """Make a file name from a title: ASCII letters, digits and hyphens."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60].rstrip("-")
    return slug or "appointment"


def requested_days(args, today: date) -> tuple[date, date]:
    """Read ?from=YYYY-MM-DD&to=YYYY-MM-DD; neither means the month of ``today``.

    Raises ValueError with a message for the user when the range cannot be exported.
    """
    given = [args.get("from"), args.get("to")]
    if not any(given):
        first = today.replace(day=1)
        return first, first + relativedelta(months=1, days=-1)
    if not all(given):
        raise ValueError(_("Give both dates, from and to, or neither for the current month."))
    try:
        first, last = (datetime.strptime(value, "%Y-%m-%d").date() for value in given)
    except ValueError:
        raise ValueError(
            _("Give the dates as YYYY-MM-DD, for example from=2026-05-01&to=2026-05-31.")
        ) from None
    if not in_calendar_years(first, last):
        raise ValueError(_("Enter a year between %(min)d and %(max)d.", min=MIN_YEAR, max=MAX_YEAR))
    if last < first:
        raise ValueError(_("The end date must not be before the start date."))
    if (last - first).days + 1 > EXPORT_MAX_DAYS:
        raise ValueError(_("Export at most %(days)d days at a time.", days=EXPORT_MAX_DAYS))
    return first, last


def bad_request(message: str):
    """Answer 400 with our error page, saying exactly what was wrong."""
    title = ERROR_TEXTS[400][0]
    return render_template("errors/error.html", code=400, title=title, message=message), 400
