"""E-mail reminders a chosen time before an appointment.

Each appointment stores when its reminder is due (``remind_at``, kept by a flush hook from the
start and the chosen lead time) and when it went out (``reminder_sent_at``). Whoever sends it
first claims it with a conditional UPDATE (``... WHERE reminder_sent_at IS NULL``), committed
before the e-mail goes out: with several workers or hosts running the timer at the same
moment, exactly one of them wins each reminder. If sending fails, the claim is released and
the next run tries again.

A series reminds of each occurrence in turn: its remind_at is the reminder of the next one,
and the claim moves it on to the following one (``... WHERE remind_at = <the one due>``), so
that each occurrence is reminded of once too. An occurrence deleted since is skipped, and one
changed since (an exception) reminds of itself, as any appointment does.

In production uWSGI's cron runs ``flask send-reminders`` every minute (uwsgi.ini); elsewhere
run the command from cron or a systemd timer.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import cast

from flask import current_app, render_template
from flask_babel import gettext as _
from flask_mailman import EmailMessage
from sqlalchemy import CursorResult, or_, select, update

from app.accounts.models import User
from app.core.db import now_utc
from app.core.filters import timespan_filter
from app.core.i18n import in_language_of
from app.core.timezones import zone_named
from app.extensions import db
from app.scheduling import series as series_changes
from app.scheduling.models import Appointment, next_reminder
from app.scheduling.occurrences import Instance

log = logging.getLogger(__name__)

# Reminders sent per run at most; the rest wait for the next minute.
BATCH = 500


def due_reminder_ids(now: datetime) -> list[int]:
    return list(
        db.session.scalars(
            select(Appointment.id)
            .where(
                Appointment.remind_at <= now,
                Appointment.reminder_sent_at.is_(None),
                # A reminder after the start helps no one; a series' next occurrence is later.
                or_(Appointment.start > now, Appointment.rrule.is_not(None)),
            )
            .order_by(Appointment.remind_at)
            .limit(BATCH)
        )
    )


def claim(appointment_id: int, now: datetime) -> bool:
    """Mark the reminder as sent if nobody has; tell whether this caller got it."""
    claimed = (
        cast(
            CursorResult,
            db.session.execute(
                update(Appointment)
                .where(Appointment.id == appointment_id, Appointment.reminder_sent_at.is_(None))
                .values(reminder_sent_at=now)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        == 1
    )
    db.session.commit()
    return claimed


def release(appointment_id: int) -> None:
    db.session.execute(
        update(Appointment)
        .where(Appointment.id == appointment_id)
        .values(reminder_sent_at=None)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()


def reminder_message(instance: Instance, owner: User) -> EmailMessage:
    """The reminder of an appointment or an occurrence, in the owner's language and on the
    owner's clock."""
    zone = zone_named(owner.timezone)
    with in_language_of(owner):
        when = timespan_filter(instance.start, instance.end, instance.all_day, zone=zone)
        subject = _("Reminder: %(title)s, %(when)s", title=instance.title, when=when)
        body = render_template(
            "scheduling/email/reminder.txt",
            appointment=instance,
            owner=owner,
            when=when,
        )
    return EmailMessage(subject=subject, body=body, to=[owner.email])


def send_reminders(now: datetime | None = None) -> int:
    """Send every reminder that is due and not yet sent; return how many this call sent."""
    now = now or now_utc()
    sent = 0
    # Links in the e-mails point at the public site, whoever runs this (cron has no request).
    with current_app.test_request_context("/", base_url=current_app.config["SITE_URL"]):
        for appointment_id in due_reminder_ids(now):
            sent += _send_one(appointment_id, now)
    return sent


def _send_one(appointment_id: int, now: datetime) -> int:
    appointment = db.session.get(Appointment, appointment_id)
    if appointment is not None and appointment.is_series:
        return _send_for_series(appointment, now)
    if not claim(appointment_id, now):
        return 0  # another worker or host has it
    # Just claimed, so there; if deleted since, sending fails below like any other error.
    appointment = cast(Appointment, db.session.get(Appointment, appointment_id))
    try:
        reminder_message(Instance.of(appointment), appointment.owner).send()
    except Exception:
        log.exception("Reminder for appointment %s not sent; will retry", appointment_id)
        release(appointment_id)
        return 0
    return 1


def _send_for_series(series: Appointment, now: datetime) -> int:
    """Remind of the series' occurrence that is due, unless deleted, changed or begun since;
    move the series on to the next occurrence's reminder either way."""
    due = series.remind_at
    if due is None or due > now or series.reminder_minutes is None:
        return 0  # moved on meanwhile, by another worker or an edit
    lead = timedelta(minutes=series.reminder_minutes)
    planned = due + lead
    following = next_reminder(series, planned)
    if not _move_reminder(series.id, due, following):
        return 0  # another worker or host has it
    occurrence = series_changes.occurrence_of(series, planned)
    replaced = series_changes.exception_for(series, planned) is not None
    if occurrence is None or replaced or occurrence.start <= now:
        return 0
    try:
        reminder_message(Instance.occurring(series, occurrence), series.owner).send()
    except Exception:
        log.exception("Reminder for series %s at %s not sent; will retry", series.id, planned)
        _move_reminder(series.id, following, due)
        return 0
    return 1


def _move_reminder(series_id: int, due: datetime | None, following: datetime | None) -> bool:
    """Move the series' reminder from ``due`` on to ``following``, if no one has; tell whether
    this caller did."""
    moved = (
        cast(
            CursorResult,
            db.session.execute(
                update(Appointment)
                .where(Appointment.id == series_id, _is(Appointment.remind_at, due))
                .values(remind_at=following)
                .execution_options(synchronize_session=False)
            ),
        ).rowcount
        == 1
    )
    db.session.commit()
    return moved


def _is(column, value):
    return column.is_(None) if value is None else column == value
