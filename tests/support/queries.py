"""Reading back what the requests stored, past what the test's session remembers."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from app.scheduling.models import Appointment


def count_appointments(app: Flask | None = None) -> int:
    """How many appointments the database holds: in the test's app context, or in ``app``'s
    (a live server's, which the test runs no context of)."""
    if app is not None:
        with app.app_context():
            return count_appointments()
    return db.session.scalar(select(func.count()).select_from(Appointment))


def fresh(user: User) -> User:
    """Read the user again, as the requests left it."""
    db.session.expire_all()
    return db.session.get(User, user.id)


def find_user(email: str) -> User | None:
    """The user with this address as the database has it now, or None."""
    db.session.expire_all()
    return db.session.scalar(select(User).filter_by(email=email))


def stored(appointment_id: int) -> Appointment | None:
    """The appointment as the database has it now."""
    db.session.expire_all()
    return db.session.get(Appointment, appointment_id)
