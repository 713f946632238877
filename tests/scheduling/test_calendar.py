"""Calendar arithmetic: grids, weeks, local days across clock changes, the time grid layout."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from app.core.timezones import local_days_in_utc
from app.scheduling import calendar as cal
from tests.support.zones import BERLIN, NEW_YORK, UTC

MONDAY, SUNDAY = 0, 6


def appointment(start, end, all_day=False, id=1):
    return SimpleNamespace(id=id, start=start, end=end, all_day=all_day, title=f"#{id}")


@pytest.mark.parametrize(
    ("first_weekday", "first", "last", "weeks"),
    [
        (MONDAY, date(2026, 4, 27), date(2026, 5, 31), 5),  # May 2026 begins on a Friday
        (SUNDAY, date(2026, 4, 26), date(2026, 6, 6), 6),
    ],
)
def test_month_grid_is_whole_weeks_covering_the_month(first_weekday, first, last, weeks):
    grid = cal.month_grid(2026, 5, first_weekday)
    assert len(grid) == weeks and all(len(week) == 7 for week in grid)
    assert grid[0][0] == first and grid[-1][-1] == last
    assert grid[0][0].weekday() == first_weekday


def test_february_that_fits_in_four_weeks():
    grid = cal.month_grid(2027, 2, MONDAY)  # 1 Feb 2027 is a Monday, 28 days
    assert len(grid) == 4 and grid[0][0] == date(2027, 2, 1) and grid[-1][-1] == date(2027, 2, 28)


def test_december_grid_runs_into_january():
    grid = cal.month_grid(2026, 12, SUNDAY)
    assert grid[-1][-1] == date(2027, 1, 2)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2024, 3, 31), -1, date(2024, 2, 29)),
    ],
)
def test_add_months_keeps_the_day_where_it_can(day, months, expected):
    assert cal.add_months(day, months) == expected


def test_week_days_follow_the_first_weekday():
    assert cal.week_days(date(2026, 5, 6), MONDAY)[0] == date(2026, 5, 4)
    assert cal.week_days(date(2026, 5, 6), SUNDAY)[0] == date(2026, 5, 3)
    assert cal.week_days(date(2026, 5, 3), SUNDAY)[-1] == date(2026, 5, 9)


@pytest.mark.parametrize(
    ("language", "zone", "first"),
    [
        ("en", "America/New_York", SUNDAY),
        ("en", "Europe/Berlin", MONDAY),
        ("de", "Europe/Berlin", MONDAY),
        ("en", "Europe/London", MONDAY),
        ("en", "UTC", MONDAY),
    ],
)
def test_first_weekday_where_the_user_lives(language, zone, first):
    assert cal.first_weekday(language, zone) == first


def test_local_days_are_23_and_25_hours_long_on_clock_changes():
    start, end = local_days_in_utc(date(2026, 3, 29), date(2026, 3, 29), BERLIN)
    assert end - start == timedelta(hours=23)
    start, end = local_days_in_utc(date(2026, 11, 1), date(2026, 11, 1), NEW_YORK)
    assert end - start == timedelta(hours=25)
    assert start == datetime(2026, 11, 1, 4, tzinfo=UTC)


def test_multi_day_appointment_shows_on_every_day_it_covers():
    days = [date(2026, 5, d) for d in range(4, 11)]
    trip = appointment(datetime(2026, 5, 5, 8, tzinfo=UTC), datetime(2026, 5, 7, 10, tzinfo=UTC))
    by_day = cal.entries_by_day([trip], days, BERLIN)
    assert [day.day for day, entries in by_day.items() if entries] == [5, 6, 7]
    assert by_day[date(2026, 5, 6)][0].whole_day


def test_timed_appointment_ending_at_midnight_stays_on_its_day():
    days = [date(2026, 5, 4), date(2026, 5, 5)]
    evening = appointment(
        datetime(2026, 5, 4, 20, tzinfo=BERLIN), datetime(2026, 5, 5, 0, tzinfo=BERLIN)
    )
    by_day = cal.entries_by_day([evening], days, BERLIN)
    assert len(by_day[date(2026, 5, 4)]) == 1 and by_day[date(2026, 5, 5)] == []
    assert not by_day[date(2026, 5, 4)][0].whole_day


def test_all_day_appointment_far_from_utc_stays_on_its_local_days():
    kiritimati = ZoneInfo("Pacific/Kiritimati")  # UTC+14
    # Stored as local midnight: 4 May 00:00 at UTC+14 is 3 May 10:00 UTC.
    start = datetime(2026, 5, 4, tzinfo=kiritimati).astimezone(UTC)
    holiday = appointment(start, start + timedelta(days=1), all_day=True)
    days = [date(2026, 5, d) for d in range(3, 7)]
    by_day = cal.entries_by_day([holiday], days, kiritimati)
    assert [day.day for day, entries in by_day.items() if entries] == [4, 5]


def test_entries_put_whole_day_ones_first_then_by_time():
    days = [date(2026, 5, 4)]
    late = appointment(datetime(2026, 5, 4, 15, tzinfo=UTC), datetime(2026, 5, 4, 16, tzinfo=UTC), id=1)
    early = appointment(datetime(2026, 5, 4, 7, tzinfo=UTC), datetime(2026, 5, 4, 8, tzinfo=UTC), id=2)
    all_day = appointment(datetime(2026, 5, 3, 22, tzinfo=UTC), datetime(2026, 5, 3, 22, tzinfo=UTC), True, id=3)
    entries = cal.entries_by_day([late, early, all_day], days, BERLIN)[days[0]]
    assert [e.appointment.id for e in entries] == [3, 2, 1]


def boxes(*spans, tz=BERLIN):
    """Lay out timed appointments given as (start hour, end hour) on 4 May 2026."""
    day = [date(2026, 5, 4)]
    items = []
    for i, (start, end) in enumerate(spans):
        base = datetime(2026, 5, 4, tzinfo=tz)
        items.append(appointment(base + timedelta(hours=start), base + timedelta(hours=end), id=i))
    entries = cal.entries_by_day(items, day, tz)[day[0]]
    return {p.entry.appointment.id: (p.top, p.height, p.column, p.columns) for p in cal.layout_day(entries)}


def test_layout_places_appointments_at_their_local_times():
    assert boxes((9, 10.5)) == {0: (36, 6, 0, 1)}


def test_layout_puts_overlapping_appointments_side_by_side():
    layout = boxes((9, 11), (10, 12), (13, 14))
    assert layout[0][2:] == (0, 2) and layout[1][2:] == (1, 2)
    assert layout[2][2:] == (0, 1)  # after the overlap, full width again


def test_layout_reuses_a_freed_column():
    layout = boxes((9, 10), (9, 12), (10, 11))
    # 10-11 takes the column 9-10 left free, beside the long 9-12.
    assert layout[2][2] == layout[0][2] != layout[1][2]
    assert {box[3] for box in layout.values()} == {2}


def test_layout_on_the_spring_clock_change_shows_wall_clock_times():
    # 01:30 to 03:30 on 29 March 2026 in Berlin lasts one real hour (02:00-03:00 is skipped).
    start = datetime(2026, 3, 29, 1, 30, tzinfo=BERLIN)
    end = datetime(2026, 3, 29, 3, 30, tzinfo=BERLIN)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=1)
    day = [date(2026, 3, 29)]
    entries = cal.entries_by_day([appointment(start.astimezone(UTC), end.astimezone(UTC))], day, BERLIN)
    placed = cal.layout_day(entries[day[0]])
    assert (placed[0].top, placed[0].top + placed[0].height) == (6, 14)


def test_short_time_is_formatted_per_language():
    assert cal.short_time(14, 30, "en").replace("\u202f", " ") == "2:30 PM"
    assert cal.short_time(14, 30, "de") == "14:30"
