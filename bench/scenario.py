"""What the benchmark measures: whose calendar, which month, and which pages."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

USERS = 1_000
TIMEZONE = "Europe/Berlin"
MEASURED_USER_ID = 1
# A month in the middle of the generated data whose grid needs all six weeks whether the week
# starts on Monday or Sunday, so that the month view shows as many days as the reference page;
# and a Wednesday in it for the week and day views.
MEASURED_MONTH = date(2026, 8, 1)
MEASURED_DAY = date(2026, 8, 12)
GRID_DAYS = 42
REFERENCE = "reference"


def user_email(user_id: int) -> str:
    return f"user{user_id:04d}@example.com"


MEASURED_USER_EMAIL = user_email(MEASURED_USER_ID)


def month_grid(year: int, month: int) -> list[date]:
    """Return the 42 days of a month's grid: six weeks from the Monday on or before the 1st."""
    first = date(year, month, 1)
    start = first - timedelta(days=first.weekday())
    return [start + timedelta(days=n) for n in range(GRID_DAYS)]


@dataclass(frozen=True)
class Page:
    name: str
    path: str


def measured_pages() -> tuple[Page, ...]:
    """The reference page first, then the calendar views of the measured user's month."""
    month, day = MEASURED_MONTH, MEASURED_DAY
    return (
        Page(REFERENCE, f"/bench/reference/{month.year}/{month.month}/"),
        Page("month", f"/calendar/month/{month.year}/{month.month}/"),
        Page("week", f"/calendar/week/{day.year}/{day.month}/{day.day}/"),
        Page("day", f"/calendar/day/{day.year}/{day.month}/{day.day}/"),
        Page("agenda", f"/calendar/agenda/?start={month.isoformat()}"),
    )
