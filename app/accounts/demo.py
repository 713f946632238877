"""The accounts' demo data: one user per role, with a fresh random password each."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from flask_security import hash_password
from sqlalchemy import func, select

from app.accounts.models import ROLE_ADMIN, ROLE_STAFF, ROLE_TRANSLATOR, User
from app.accounts.security import user_datastore
from app.extensions import db

DEMO_USERS = (
    ("admin@example.com", "Ada Admin", ROLE_ADMIN, "Europe/London"),
    ("staff@example.com", "Sam Staff", ROLE_STAFF, "Europe/Berlin"),
    ("translator@example.com", "Tom Translator", ROLE_TRANSLATOR, "Europe/Paris"),
    ("user@example.com", "Uma User", None, "America/New_York"),
)


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: str | None


def has_users() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(User)))


def add_demo_users() -> list[tuple[User, DemoAccount]]:
    """Add the demo users to the session (uncommitted); return each with its login."""
    added = []
    for email, name, role, tz_name in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        user = user_datastore.create_user(
            email=email,
            password=hash_password(password),
            full_name=name,
            timezone=tz_name,
            active=True,
            roles=[role] if role else [],
        )
        added.append((user, DemoAccount(email, password, role)))
    return added
