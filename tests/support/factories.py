"""Test data factories: users and appointments with sensible defaults."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from flask_security import hash_password

from app.accounts.security import user_datastore
from app.extensions import db
from app.scheduling.models import Appointment

PASSWORD = "a long enough password"
_numbers = itertools.count(1)


def make_user(
    email: str | None = None,
    password: str = PASSWORD,
    confirmed: bool = True,
    roles: tuple[str, ...] = (),
    **attributes,
):
    """Create and commit an active user who can log in with ``password``."""
    user = user_datastore.create_user(
        email=email or f"user{next(_numbers)}@example.com",
        password=hash_password(password),
        active=True,
        roles=list(roles),
        **attributes,
    )
    if not confirmed:
        user.confirmed_at = None
    db.session.commit()
    return user


def make_feed_token(user) -> str:
    """Give ``user`` a calendar feed address and return its token; the database keeps its hash."""
    token = user.regenerate_calendar_token()
    db.session.commit()
    return token


def make_appointment(owner, **attributes) -> Appointment:
    """Create and commit an appointment for ``owner``; tomorrow at 09:00 UTC for an hour."""
    start = attributes.pop("start", None) or datetime.now(timezone.utc).replace(
        hour=9, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    values = {
        "title": f"Appointment {next(_numbers)}",
        "start": start,
        "end": start + timedelta(hours=1),
        **attributes,
    }
    appointment = Appointment(owner=owner, **values)
    db.session.add(appointment)
    db.session.commit()
    return appointment


def appointment_form(**changes) -> dict:
    """What the appointment form sends for a valid appointment, with ``changes``."""
    return {
        "title": "Dentist",
        "start": "2026-01-15T10:00",
        "end": "2026-01-15T11:30",
        "location": "Main street 1",
        "description": "Bring the card.",
        **changes,
    }
