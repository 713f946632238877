"""Calendar arithmetic: grids of local days, which appointments fall on which day, and where
they sit on a day's time grid. Plain functions of dates and time zones, no requests; local days
to UTC and back is app/core/timezones.py's."""

from __future__ import annotations

import calendar
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from babel.dates import format_date, format_time
from dateutil.relativedelta import relativedelta

if TYPE_CHECKING:
    from app.scheduling.occurrences import Instance

DAY = timedelta(days=1)
WEEK = 7 * DAY
MINUTES_PER_DAY = 24 * 60
# The time grid snaps to quarter hours; app/static/css/calendar.css has one class per slot.
SLOT_MINUTES = 15
SLOTS_PER_DAY = MINUTES_PER_DAY // SLOT_MINUTES
MAX_COLUMNS = 6


def week_start(day: date, first_weekday: int) -> date:
    """Return the first day of the week holding ``day``; weekdays count from Monday = 0."""
    return day - timedelta(days=(day.weekday() - first_weekday) % 7)


def week_days(day: date, first_weekday: int) -> list[date]:
    first = week_start(day, first_weekday)
    return [first + timedelta(days=i) for i in range(7)]


def month_grid(year: int, month: int, first_weekday: int) -> list[list[date]]:
    """Return the whole weeks that cover a month, as lists of seven dates."""
    return calendar.Calendar(first_weekday).monthdatescalendar(year, month)


def add_months(day: date, months: int) -> date:
    """Move by whole months, keeping the day where the month allows (31 Jan + 1 = 28 Feb)."""
    return day + relativedelta(months=months)


def covered_days(start: datetime, end: datetime, all_day: bool, tz: ZoneInfo) -> tuple[date, date]:
    """Return the first and last local day an appointment shows on.

    An all-day appointment covers its stored dates inclusively; a timed one that ends exactly
    at midnight does not spill onto the next day.
    """
    return local_days(start.astimezone(tz), end.astimezone(tz), all_day)


def local_days(local_start: datetime, local_end: datetime, all_day: bool) -> tuple[date, date]:
    """covered_days() for times already on the local clock."""
    last = local_end.date()
    if not all_day and local_end > local_start and local_end.time() == time.min:
        last -= DAY
    return local_start.date(), last


@dataclass(slots=True)
class Entry:
    """An appointment as one day shows it."""

    appointment: Instance
    first_day: date
    last_day: date
    local_start: datetime
    local_end: datetime
    spans_days: bool = field(init=False)
    # Shown in the all-day row: all-day, or running across more than one day.
    whole_day: bool = field(init=False)

    def __post_init__(self) -> None:
        self.spans_days = self.first_day != self.last_day
        self.whole_day = self.appointment.all_day or self.spans_days


def entries_by_day(
    appointments: Iterable[Instance], days: Sequence[date], tz: ZoneInfo
) -> dict[date, list[Entry]]:
    """Put each appointment on every local day it covers; whole-day entries come first."""
    by_day: dict[date, list[Entry]] = {day: [] for day in days}
    first_shown, last_shown = days[0], days[-1]
    for appointment in appointments:
        local_start, local_end = appointment.start.astimezone(tz), appointment.end.astimezone(tz)
        first, last = local_days(local_start, local_end, appointment.all_day)
        entry = Entry(appointment, first, last, local_start, local_end)
        if first == last and first in by_day:
            by_day[first].append(entry)  # most are within a day
            continue
        day, shown_last = max(first, first_shown), min(last, last_shown)
        while day <= shown_last:
            by_day[day].append(entry)
            day += DAY
    for entries in by_day.values():
        entries.sort(key=_shown_order)
    return by_day


def _shown_order(entry: Entry) -> tuple[bool, datetime, int]:
    return not entry.whole_day, entry.local_start, entry.appointment.id


@dataclass
class Placed:
    """A timed appointment's box on one day's time grid, in quarter-hour slots."""

    entry: Entry
    top: int
    height: int
    column: int = 0
    columns: int = 1


def layout_day(entries: Iterable[Entry]) -> list[Placed]:
    """Place a day's timed entries at their local times, overlapping ones side by side."""
    placed = []
    for entry in entries:
        if entry.whole_day:
            continue
        start = entry.local_start.hour * 60 + entry.local_start.minute
        end = entry.local_end.hour * 60 + entry.local_end.minute
        if entry.local_end.date() > entry.local_start.date():
            end = MINUTES_PER_DAY  # ends at midnight
        top = min(start // SLOT_MINUTES, SLOTS_PER_DAY - 1)
        bottom = max(top + 1, min(-(-end // SLOT_MINUTES), SLOTS_PER_DAY))
        placed.append(Placed(entry, top, bottom - top))
    placed.sort(key=lambda p: (p.top, -p.height))

    # Boxes that overlap, directly or through others, share the width in columns.
    group: list[Placed] = []
    group_end = -1
    column_ends: list[int] = []
    for box in placed:
        if box.top >= group_end:
            _close_group(group, column_ends)
            group, column_ends = [], []
        free = next((i for i, end in enumerate(column_ends) if end <= box.top), None)
        if free is None:
            column_ends.append(box.top + box.height)
            free = len(column_ends) - 1
        else:
            column_ends[free] = box.top + box.height
        box.column = min(free, MAX_COLUMNS - 1)
        group.append(box)
        group_end = max(group_end, box.top + box.height)
    _close_group(group, column_ends)
    return placed


def _close_group(group: list[Placed], column_ends: list[int]) -> None:
    columns = min(len(column_ends), MAX_COLUMNS) or 1
    for box in group:
        box.columns = columns


@functools.lru_cache(maxsize=512)
def first_weekday(language: str, tz_name: str) -> int:
    """Return the first day of the week, Monday = 0, where the user lives.

    The country comes from the time zone: English in New York starts on Sunday, English or
    German in Berlin on Monday. Without a locale for that pair, the language's own default.
    """
    territory = get_global("zone_territories").get(tz_name)
    try:
        return Locale.parse(f"{language}_{territory}").first_week_day
    except (UnknownLocaleError, ValueError, TypeError):
        return Locale.parse(language).first_week_day


@functools.lru_cache(maxsize=4096)
def long_date(day: date, locale: str) -> str:
    """Format a date in full ("Wednesday, May 6, 2026"), once per distinct day and language."""
    return format_date(day, "full", locale=locale)


@functools.lru_cache(maxsize=4096)
def short_time(hour: int, minute: int, locale: str) -> str:
    """Format a wall-clock time the locale's short way, once per distinct value."""
    return format_time(time(hour, minute), "short", locale=locale)
