"""Benchmark data: 1,000 users and their appointments, bulk-inserted into a fresh database.

Every user keeps a weekly schedule of ten slots (a morning and an afternoon on each weekday)
over 100 weeks around the measured month. The measured user fills every slot, so their
calendar is the same in every dataset (60 appointments in the month grid, 10 in a week, 2 on a
weekday); the other users share what is left of the dataset's size. Rows go in in time order,
users interleaved, as a real table fills up.

On top of the dataset's size, the measured user keeps SERIES weekly series (issue 14): one at
each hour from 07:00 to 16:00 of each weekday, on their own clock, half of them begun ten years
before the measured month and half a few weeks before it, each with EXCEPTIONS_PER_SERIES
exceptions (an occurrence moved or changed) within two weeks of the month's grid. The grid shows
300 of their occurrences, exceptions included; they go in after the appointments, as series
made later would.
"""

from __future__ import annotations

import heapq
import itertools
import os
import random
import secrets
import uuid
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from operator import itemgetter
from pathlib import Path
from typing import NamedTuple
from unittest import mock
from zoneinfo import ZoneInfo

import flask_migrate
from flask import Flask
from flask_security import hash_password
from sqlalchemy import Connection, bindparam, insert, update

from app import create_app
from app.accounts.models import User, calendar_token_digest
from app.extensions import db
from app.scheduling.models import Appointment
from app.scheduling.occurrences import instances_between
from app.scheduling.recurrence import Recurrence, expand, last_end, parse_rule
from bench.scenario import MEASURED_MONTH, MEASURED_USER_ID, TIMEZONE, USERS, month_grid, user_email

SPAN_WEEKS = 100
SLOTS_PER_WEEK = 10
FULL_SCHEDULE = SPAN_WEEKS * SLOTS_PER_WEEK
ALL_DAY_SHARE = 0.04
CHUNK = 10_000
USER_TZ = ZoneInfo(TIMEZONE)
SERIES = 50
EXCEPTIONS_PER_SERIES = 5
SERIES_ROWS = SERIES * (1 + EXCEPTIONS_PER_SERIES)
SERIES_WEEKDAYS = ("MO", "TU", "WE", "TH", "FR")
FIRST_SERIES_HOUR = 7
OLD_SERIES_YEARS = 10
# Where the exceptions are: the occurrences from this long before the grid to this long after.
EXCEPTIONS_AROUND_GRID = timedelta(weeks=2)
# How an exception differs from the occurrence it replaces: the same time, an hour or a day on.
EXCEPTION_MOVES = (timedelta(0), timedelta(hours=1), timedelta(days=1))

TITLES = (
    "Dentist", "Team meeting", "Lunch with Alex", "Yoga class", "Project review",
    "Call the bank", "Haircut", "Parents' evening", "Book club", "Car service",
)
PLACES = ("", "", "Main office", "Room 2.14", "Café Central", "Online")
NOTES = ("", "", "", "Bring the documents.")


def production_app(database: Path, server_secrets: Mapping[str, str]) -> Flask:
    """Build the app as uWSGI will: production settings, the server's secrets, this database."""
    return production_app_at(f"sqlite:///{database}", server_secrets)


def production_app_at(database_url: str, server_secrets: Mapping[str, str]) -> Flask:
    """The same, on any database SQLAlchemy can reach (PostgreSQL for the admin benchmark)."""
    with mock.patch.dict(os.environ, server_secrets):
        return create_app("production", {"SQLALCHEMY_DATABASE_URI": database_url})


def hash_bench_password(app: Flask, password: str) -> str:
    """Hash the one password every bench user shares, with the app's salt and hasher."""
    with app.app_context():
        return hash_password(password)


def build_database(app: Flask, size: int, password_hash: str) -> None:
    """Migrate the app's empty database and fill it with USERS users, ``size`` appointments and
    the measured user's series."""
    now = datetime.now(timezone.utc)
    with app.app_context():
        flask_migrate.upgrade()
        with db.engine.begin() as connection:
            connection.execute(insert(User), list(user_rows(password_hash, now)))
            longest = insert_appointments(connection, appointment_rows(size, now))
            series_longest = insert_series(connection, measured_series(now))
            longest[MEASURED_USER_ID] = max(longest[MEASURED_USER_ID], series_longest)
            set_longest_appointments(connection, longest)
        db.engine.dispose()


def user_rows(password_hash: str, now: datetime) -> Iterator[dict]:
    for user_id in range(1, USERS + 1):
        yield {
            "id": user_id,
            "email": user_email(user_id),
            "full_name": f"Bench User {user_id}",
            "password": password_hash,
            "active": True,
            "confirmed_at": now.replace(tzinfo=None),  # Flask-Security's columns are naive UTC
            "fs_uniquifier": uuid.uuid4().hex,
            "calendar_token_hash": calendar_token_digest(secrets.token_urlsafe(32)),
            "timezone": TIMEZONE,
            "locale": "en",
        }


def appointments_per_user(size: int) -> list[int]:
    """Split ``size``: the measured user first with a full schedule, the others evenly."""
    if not FULL_SCHEDULE <= size <= USERS * FULL_SCHEDULE:
        raise ValueError(f"size must be from {FULL_SCHEDULE:,} to {USERS * FULL_SCHEDULE:,}")
    each, extra = divmod(size - FULL_SCHEDULE, USERS - 1)
    return [FULL_SCHEDULE] + [each + (n < extra) for n in range(USERS - 1)]


def appointment_rows(size: int, now: datetime) -> Iterator[dict]:
    """Yield every user's appointments, earliest start first."""
    first_monday = month_grid(MEASURED_MONTH.year, MEASURED_MONTH.month)[0] - timedelta(
        weeks=SPAN_WEEKS // 2
    )
    schedules = (
        user_schedule(user_id, count, first_monday, now)
        for user_id, count in enumerate(appointments_per_user(size), start=1)
    )
    return heapq.merge(*schedules, key=itemgetter("start_at"))


def user_schedule(user_id: int, count: int, first_monday: date, now: datetime) -> Iterator[dict]:
    """Yield one user's appointments in ``count`` of the schedule's slots, in order.

    Each user draws from a random generator of their own, so a user's appointments depend only
    on their id and count, not on the other users.
    """
    rng = random.Random(user_id)
    slots = range(FULL_SCHEDULE)
    if count < FULL_SCHEDULE:
        slots = sorted(rng.sample(slots, count))
    for slot in slots:
        start, end, all_day = slot_times(rng, slot, first_monday)
        yield {
            "owner_id": user_id,
            "title": rng.choice(TITLES),
            "start_at": start,
            "end_at": end,
            "all_day": all_day,
            "location": rng.choice(PLACES),
            "description": rng.choice(NOTES),
            "created": now,
            "modified": now,
        }


def slot_times(
    rng: random.Random, slot: int, first_monday: date
) -> tuple[datetime, datetime, bool]:
    """Return a slot's start and end in UTC, and whether it is all-day (one to three days)."""
    week, rest = divmod(slot, SLOTS_PER_WEEK)
    weekday, afternoon = divmod(rest, 2)
    day = first_monday + timedelta(weeks=week, days=weekday)
    all_day = rng.random() < ALL_DAY_SHARE
    if all_day:
        # As the form stores them: midnight of the first and of the last day on the owner's clock.
        last_day = day + timedelta(days=rng.choice((0, 0, 1, 2)))
        start = datetime.combine(day, time.min, tzinfo=USER_TZ)
        end = datetime.combine(last_day, time.min, tzinfo=USER_TZ)
    else:
        hour = rng.randrange(13, 17) if afternoon else rng.randrange(8, 12)
        start = datetime.combine(day, time(hour, rng.choice((0, 15, 30, 45))), tzinfo=USER_TZ)
        end = start + timedelta(minutes=rng.choice((30, 45, 60, 90, 120)))
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc), all_day


def measured_series(now: datetime) -> Iterator[tuple[dict, list[dict]]]:
    """Yield the measured user's series, each with its exceptions (their series_id to fill in).

    n-th series: on weekday n % 5 at 07:00 + n // 5 hours, so ten a weekday; the even ones begun
    in the measured month ten years earlier, the odd ones one to four weeks before its grid.
    """
    rng = random.Random(f"series of user {MEASURED_USER_ID}")
    grid = month_grid(MEASURED_MONTH.year, MEASURED_MONTH.month)
    long_ago = MEASURED_MONTH.replace(year=MEASURED_MONTH.year - OLD_SERIES_YEARS)
    around_grid = (
        datetime.combine(grid[0], time.min, tzinfo=USER_TZ) - EXCEPTIONS_AROUND_GRID,
        datetime.combine(grid[-1] + timedelta(days=1), time.min, tzinfo=USER_TZ)
        + EXCEPTIONS_AROUND_GRID,
    )
    for n in range(SERIES):
        hours, weekday = divmod(n, len(SERIES_WEEKDAYS))
        if n % 2:
            monday = grid[0] - timedelta(weeks=1 + n // 2 % 4)
        else:
            monday = long_ago - timedelta(days=long_ago.weekday())
        start = datetime.combine(
            monday + timedelta(days=weekday),
            time(FIRST_SERIES_HOUR + hours, rng.choice((0, 30))),
            tzinfo=USER_TZ,
        )
        rule = parse_rule(f"FREQ=WEEKLY;BYDAY={SERIES_WEEKDAYS[weekday]}", start)
        recurrence = Recurrence(rule, start, timedelta(minutes=rng.choice((30, 45, 60))))
        title = rng.choice(TITLES)
        series = {
            **appointment_row(title, start.astimezone(UTC), recurrence.duration, rng, now),
            "rrule": rule,
            "series_timezone": TIMEZONE,
            "series_end": last_end(recurrence),
        }
        replaced = rng.sample(expand(recurrence, *around_grid), EXCEPTIONS_PER_SERIES)
        exceptions = []
        for occurrence in sorted(replaced, key=lambda occurrence: occurrence.start):
            move = rng.choice(EXCEPTION_MOVES)
            changed = f"{title} ({'moved' if move else 'changed'})"
            exception = appointment_row(
                changed, occurrence.start + move, recurrence.duration, rng, now
            )
            exceptions.append({**exception, "recurrence_id": occurrence.start})
        yield series, exceptions


def appointment_row(
    title: str, start: datetime, duration: timedelta, rng: random.Random, now: datetime
) -> dict:
    """A timed appointment of the measured user's, for a series or an exception."""
    return {
        "owner_id": MEASURED_USER_ID,
        "title": title,
        "start_at": start,
        "end_at": start + duration,
        "all_day": False,
        "location": rng.choice(PLACES),
        "description": "",
        "created": now,
        "modified": now,
    }


def insert_appointments(connection: Connection, rows: Iterable[dict]) -> dict[int, int]:
    """Insert the rows in chunks; return each owner's longest appointment in seconds."""
    longest: dict[int, int] = {}
    rows = iter(rows)
    while chunk := list(itertools.islice(rows, CHUNK)):
        connection.execute(insert(Appointment), chunk)
        for row in chunk:
            seconds = int((row["end_at"] - row["start_at"]).total_seconds())
            if seconds > longest.get(row["owner_id"], 0):
                longest[row["owner_id"]] = seconds
    return longest


def insert_series(connection: Connection, series: Iterable[tuple[dict, list[dict]]]) -> int:
    """Insert the series, then their exceptions; return the longest of them in seconds."""
    rows, exceptions_of = zip(*series, strict=True)
    ids = connection.scalars(
        insert(Appointment).returning(Appointment.id, sort_by_parameter_order=True), rows
    ).all()
    exceptions = [
        {**exception, "series_id": series_id}
        for series_id, of_one in zip(ids, exceptions_of, strict=True)
        for exception in of_one
    ]
    connection.execute(insert(Appointment), exceptions)
    return max(
        int((row["end_at"] - row["start_at"]).total_seconds()) for row in [*rows, *exceptions]
    )


def set_longest_appointments(connection: Connection, longest: Mapping[int, int]) -> None:
    """Store each user's longest appointment, which the calendar's range query relies on."""
    users = User.__table__
    connection.execute(
        update(users)
        .where(users.c.id == bindparam("user_id"))
        .values(longest_appointment_seconds=bindparam("seconds")),
        [{"user_id": user_id, "seconds": seconds} for user_id, seconds in longest.items()],
    )


class Grid(NamedTuple):
    appointments: int
    occurrences: int  # of series, exceptions included


def grid_counts(app: Flask) -> Grid:
    """Count what the month view finds in the measured month's 42-day grid for the measured
    user: single appointments, and occurrences of series."""
    days = month_grid(MEASURED_MONTH.year, MEASURED_MONTH.month)
    start = datetime.combine(days[0], time.min, tzinfo=USER_TZ)
    end = datetime.combine(days[-1] + timedelta(days=1), time.min, tzinfo=USER_TZ)
    with app.app_context():
        user = db.session.get(User, MEASURED_USER_ID)
        shown = instances_between(user, start, end)
        db.session.remove()
        db.engine.dispose()
    occurrences = sum(instance.repeating for instance in shown)
    return Grid(len(shown) - occurrences, occurrences)


def describe(grid: Grid) -> str:
    """Say what the measured user has, for the report."""
    return (
        f"The measured user, in every dataset: {FULL_SCHEDULE:,} appointments and {SERIES} "
        f"weekly series with {EXCEPTIONS_PER_SERIES} exceptions each, half of them begun "
        f"{OLD_SERIES_YEARS} years before the measured month and half one to four weeks before "
        f"its grid (the series' {SERIES_ROWS} rows come on top of the dataset's appointments). "
        f"The month's 42-day grid holds {grid.appointments} appointments and "
        f"{grid.occurrences} occurrences of series."
    )
