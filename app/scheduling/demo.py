"""The calendar's demo data: appointments around today, on their owner's clock."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta

from app.accounts.models import User
from app.core.timezones import zone_named
from app.scheduling.models import Appointment

DEMO_TITLES = (
    "Dentist",
    "Team meeting",
    "Lunch with Alex",
    "Yoga class",
    "Project review",
    "Call the bank",
    "Haircut",
    "Parents' evening",
    "Book club",
    "Car service",
    "Doctor's appointment",
    "Coffee with Sam",
    "Planning session",
    "Gym",
)
DEMO_PLACES = ("", "Main office", "Room 2.14", "Café Central", "Online", "Town hall")
DEMO_NOTES = ("", "", "Bring the documents.", "Agenda:\n1. News\n2. Questions")


def demo_appointments(
    user: User, today: date, rng: random.Random, count: int
) -> Iterator[Appointment]:
    """``count`` appointments for ``user`` from two weeks before this month to a month on, and
    a series that repeats on three weekdays from then."""
    tz = zone_named(user.timezone)
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
    yield demo_series(user, first)


def demo_series(user: User, first: date) -> Appointment:
    """A stand-up every Monday, Wednesday and Friday at 09:00 on the user's clock, from the
    first Monday on or after ``first``."""
    monday = first + timedelta(days=-first.weekday() % 7)
    start = datetime.combine(monday, time(9), tzinfo=zone_named(user.timezone))
    return Appointment(
        owner=user,
        title="Team stand-up",
        start=start,
        end=start + timedelta(minutes=15),
        location="Online",
        rrule="FREQ=WEEKLY;BYDAY=MO,WE,FR",
        series_timezone=user.timezone,
    )
