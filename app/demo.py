"""Demo data for a fresh database: one user per role and a few dozen appointments
(``flask seed-demo``, which `make run` calls). Above the features: it makes users and
appointments alike."""

from __future__ import annotations

import os
import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask_security import hash_password
from sqlalchemy import func, select

from app.accounts.models import ROLE_ADMIN, ROLE_STAFF, ROLE_TRANSLATOR, User
from app.accounts.security import user_datastore
from app.core.db import now_utc
from app.extensions import db
from app.scheduling.models import Appointment


@dataclass(frozen=True)
class DemoAccount:
    email: str
    password: str
    role: str | None


DEMO_USERS = (
    ("admin@example.com", "Ada Admin", ROLE_ADMIN, "Europe/London"),
    ("staff@example.com", "Sam Staff", ROLE_STAFF, "Europe/Berlin"),
    ("translator@example.com", "Tom Translator", ROLE_TRANSLATOR, "Europe/Paris"),
    ("user@example.com", "Uma User", None, "America/New_York"),
)

DEMO_TITLES = (
    "Dentist", "Team meeting", "Lunch with Alex", "Yoga class", "Project review",
    "Call the bank", "Haircut", "Parents' evening", "Book club", "Car service",
    "Doctor's appointment", "Coffee with Sam", "Planning session", "Gym",
)
DEMO_PLACES = ("", "Main office", "Room 2.14", "Café Central", "Online", "Town hall")
DEMO_NOTES = ("", "", "Bring the documents.", "Agenda:\n1. News\n2. Questions")


class DatabaseNotEmpty(Exception):
    """Demo data goes only into a database that has no users yet."""


def seed_demo(today: date | None = None, appointments_per_user: int = 12) -> list[DemoAccount]:
    """Create the demo users and their appointments; return the accounts with passwords."""
    if db.session.scalar(select(func.count()).select_from(User)):
        raise DatabaseNotEmpty
    today = today or now_utc().date()
    rng = random.Random(today.toordinal())
    accounts = []
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
        count = appointments_per_user * (2 if role is None else 1)
        db.session.add_all(_demo_appointments(user, today, rng, count))
        accounts.append(DemoAccount(email, password, role))
    db.session.commit()
    return accounts


def _demo_appointments(user: User, today: date, rng: random.Random, count: int):
    tz = ZoneInfo(user.timezone)
    first = today.replace(day=1) - timedelta(days=14)
    for _index in range(count):
        day = first + timedelta(days=rng.randrange(60))
        all_day = rng.random() < 0.1
        start_time = time(0) if all_day else time(rng.randrange(8, 18), rng.choice((0, 30)))
        start = datetime.combine(day, start_time, tzinfo=tz)
        length = timedelta(0) if all_day else timedelta(minutes=rng.choice((30, 60, 90, 120)))
        yield Appointment(
            owner=user,
            title=rng.choice(DEMO_TITLES),
            start=start,
            end=start + length,
            all_day=all_day,
            location=rng.choice(DEMO_PLACES),
            description=rng.choice(DEMO_NOTES),
        )


@click.command("seed-demo")
@click.option(
    "--save",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Also write the demo logins to this file (readable by you only).",
)
def seed_demo_command(save: Path | None) -> None:
    """Fill an empty database with demo users and appointments."""
    try:
        accounts = seed_demo()
    except DatabaseNotEmpty:
        click.echo("The database already has users; no demo data added.")
        return
    lines = [f"{a.email:<26} {a.password}   ({a.role or 'user'})" for a in accounts]
    click.echo("Demo accounts (e-mail, password):\n  " + "\n  ".join(lines))
    if save:
        save.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(save, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write("\n".join(lines) + "\n")
