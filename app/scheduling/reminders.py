"""E-mail reminders a chosen time before an appointment.

Each appointment stores when its reminder is due (``remind_at``, kept by a flush hook from the
start and the chosen lead time) and when it went out (``reminder_sent_at``). Whoever sends it
first claims it with a conditional UPDATE (``... WHERE reminder_sent_at IS NULL``), committed
before the e-mail goes out: with several workers or hosts running the timer at the same
moment, exactly one of them wins each reminder. If sending fails, the claim is released and
the next run tries again.

In production uWSGI's cron runs ``flask send-reminders`` every minute (uwsgi.ini); elsewhere
run the command from cron or a systemd timer.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import cast

from flask import current_app, render_template
from flask_babel import gettext as _
from flask_mailman import EmailMessage
from sqlalchemy import CursorResult, select, update

from app.core.db import now_utc
from app.core.filters import timespan_filter
from app.core.i18n import in_language_of
from app.core.timezones import zone_named
from app.extensions import db
from app.scheduling.models import Appointment

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
                Appointment.start > now,  # a reminder after the start helps no one
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


def reminder_message(appointment: Appointment) -> EmailMessage:
    """The reminder, in the owner's language and on the owner's clock."""
    owner = appointment.owner
    zone = zone_named(owner.timezone)
    with in_language_of(owner):
        when = timespan_filter(appointment.start, appointment.end, appointment.all_day, zone=zone)
        subject = _("Reminder: %(title)s, %(when)s", title=appointment.title, when=when)
        body = render_template(
            "scheduling/email/reminder.txt",
            appointment=appointment,
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
    if not claim(appointment_id, now):
        return 0  # another worker or host has it
    # Just claimed, so there; if deleted since, sending fails below like any other error.
    appointment = cast(Appointment, db.session.get(Appointment, appointment_id))
    try:
        reminder_message(appointment).send()
    except Exception:
        log.exception("Reminder for appointment %s not sent; will retry", appointment_id)
        release(appointment_id)
        return 0
    return 1
