"""Properties of the calendar's date arithmetic, for any date and any time zone (Hypothesis).

The calendar grids, the local days ↔ UTC ranges the views query, the conversions between the
user's clock and UTC, the duration of all-day appointments, and Appointment.overlapping() on
a real database. Dates are drawn from the years the app accepts, with extra weight on the days
a time zone changes its clocks.
"""

from __future__ import annotations

import calendar as stdlib_calendar
from datetime import date, datetime, time, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from app import create_app
from app.core.timezones import is_skipped_local_time
from app.core.validators import MAX_YEAR, MIN_YEAR
from app.extensions import db
from app.core.timezones import local_days_in_utc
from app.scheduling import calendar as cal
from app.scheduling.models import Appointment
from tests.support.browser import RequestIsolatingClient
from tests.support.factories import make_user
from tests.support.zones import UTC

PROPERTIES = settings(max_examples=100, deadline=None)
MICROSECOND = timedelta(microseconds=1)

days = st.dates(min_value=date(MIN_YEAR, 1, 1), max_value=date(MAX_YEAR, 12, 31))
zones = st.timezones()
weekdays = st.integers(min_value=0, max_value=6)


@st.composite
def zones_and_days(draw):
    """A time zone and a day in it, often one on which its clocks change."""
    zone = draw(zones)
    day = draw(days)
    if draw(st.booleans()):
        changes = clock_changes(zone, day.year)
        if changes:
            day = draw(st.sampled_from(changes))
    return zone, day


def clock_changes(zone: ZoneInfo, year: int) -> list[date]:
    """The days of ``year`` that do not last 24 hours in ``zone``: its clocks change then."""
    first = date(year, 1, 1)
    midnights = [
        datetime.combine(first + timedelta(days=n), time.min, tzinfo=zone).astimezone(UTC)
        for n in range(367)
    ]
    return [
        first + timedelta(days=n)
        for n in range(366)
        if midnights[n + 1] - midnights[n] != timedelta(days=1)
    ]


def exists(naive: datetime, zone: ZoneInfo) -> bool:
    """Tell whether a wall-clock time happens in ``zone``, by trying both its offsets."""
    for fold in (0, 1):
        offset = naive.replace(tzinfo=zone, fold=fold).utcoffset()
        instant = (naive - offset).replace(tzinfo=UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == naive:
            return True
    return False


# --- Grids -----------------------------------------------------------------------------------


@PROPERTIES
@given(st.integers(MIN_YEAR, MAX_YEAR), st.integers(1, 12), weekdays)
def test_the_month_grid_covers_the_month_in_whole_weeks_from_the_first_weekday(
    year, month, first_weekday
):
    weeks = cal.month_grid(year, month, first_weekday)
    shown = [day for week in weeks for day in week]
    first = date(year, month, 1)
    last = date(year, month, stdlib_calendar.monthrange(year, month)[1])
    assert 4 <= len(weeks) <= 6 and all(len(week) == 7 for week in weeks)
    assert shown[0].weekday() == first_weekday
    assert all(b - a == cal.DAY for a, b in zip(shown, shown[1:]))
    # The whole month, and no week that holds none of it.
    assert shown[0] <= first < shown[0] + cal.WEEK
    assert shown[-1] - cal.WEEK < last <= shown[-1]


@PROPERTIES
@given(days, weekdays)
def test_a_week_holds_its_day_and_starts_on_the_first_weekday(day, first_weekday):
    week = cal.week_days(day, first_weekday)
    assert day in week and week[0].weekday() == first_weekday
    assert [d - week[0] for d in week] == [n * cal.DAY for n in range(7)]


@PROPERTIES
@given(days, st.integers(-1200, 1200))
def test_adding_months_keeps_the_day_where_the_month_has_it(day, months):
    moved = cal.add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    length = stdlib_calendar.monthrange(moved.year, moved.month)[1]
    assert moved.day == min(day.day, length)


# --- Local days and UTC ----------------------------------------------------------------------


@PROPERTIES
@given(zones_and_days(), st.integers(0, 40))
def test_the_utc_range_of_local_days_holds_exactly_those_days(zone_and_day, span):
    zone, first = zone_and_day
    last = first + timedelta(days=span)
    start, end = local_days_in_utc(first, last, zone)
    assert start.tzinfo is not None and start <= end
    local = lambda instant: instant.astimezone(zone).date()  # noqa: E731
    # A day the clocks skip entirely (Samoa, 30 December 2011) has no instant to hold.
    if start < end:
        assert local(start) >= first and local(end - MICROSECOND) <= last
    assert local(start - MICROSECOND) < first
    assert local(end) > last


@PROPERTIES
@given(st.datetimes(min_value=datetime(MIN_YEAR, 1, 1), max_value=datetime(MAX_YEAR, 12, 31)),
       zones)
def test_utc_to_local_and_back_is_the_same_instant(naive_utc, zone):
    instant = naive_utc.replace(tzinfo=UTC)
    local = instant.astimezone(zone)
    assert not is_skipped_local_time(local), "a moment that happened is on the clock"
    assert local.astimezone(UTC) == instant


@st.composite
def wall_times(draw):
    """A time zone and a wall-clock time there, often near one of its clock changes."""
    zone, day = draw(zones_and_days())
    clock = draw(st.times())
    return zone, datetime.combine(day, clock)


@PROPERTIES
@given(wall_times())
def test_local_to_utc_and_back_is_the_same_wall_time_unless_the_clocks_skip_it(zone_and_time):
    zone, naive = zone_and_time
    aware = naive.replace(tzinfo=zone)
    back = aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    assert is_skipped_local_time(aware) == (not exists(naive, zone))
    if not is_skipped_local_time(aware):
        assert back == naive


@PROPERTIES
@given(wall_times(), st.integers(0, 3 * 24 * 60), st.booleans())
def test_an_appointment_shows_on_the_local_days_it_covers(zone_and_time, minutes, all_day):
    zone, naive = zone_and_time
    start = naive.replace(tzinfo=zone).astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    first, last = cal.covered_days(start, end, all_day, zone)
    local = lambda instant: instant.astimezone(zone).date()  # noqa: E731
    assert first == local(start) and first <= last
    if all_day or end == start:
        assert last == local(end)
    else:
        # The last moment it lasts is on its last day: ending at midnight spills onto no day.
        assert last == local(end - MICROSECOND)
    appointment = SimpleNamespace(start=start, end=end, all_day=all_day, id=1)
    shown = [first - cal.DAY + n * cal.DAY for n in range((last - first).days + 3)]
    by_day = cal.entries_by_day([appointment], shown, zone)
    assert [day for day in shown if by_day[day]] == shown[1:-1]


# --- All-day appointments --------------------------------------------------------------------


@PROPERTIES
@given(zones_and_days(), st.integers(0, 60))
def test_an_all_day_appointment_lasts_its_days_the_last_one_included(zone_and_day, extra_days):
    zone, first = zone_and_day
    last = first + timedelta(days=extra_days)
    # Stored as the form stores it: local midnights, in UTC.
    appointment = Appointment(
        title="Holiday", all_day=True,
        start=datetime.combine(first, time.min, tzinfo=zone).astimezone(UTC),
        end=datetime.combine(last, time.min, tzinfo=zone).astimezone(UTC),
    )
    # Days the clocks skip whole (Samoa's 30 December 2011) take no time.
    skipped = sum(
        1 for n in range(extra_days + 1)
        if len(set(local_days_in_utc(first + timedelta(days=n), first + timedelta(days=n), zone))) == 1
    )
    assert appointment.duration == timedelta(days=extra_days + 1 - skipped)


@PROPERTIES
@given(st.datetimes(min_value=datetime(MIN_YEAR, 1, 1), max_value=datetime(MAX_YEAR, 12, 31)),
       st.integers(0, 10**6))
def test_a_timed_appointment_lasts_from_start_to_end(naive_utc, seconds):
    start = naive_utc.replace(tzinfo=UTC)
    appointment = Appointment(title="Meeting", all_day=False, start=start,
                              end=start + timedelta(seconds=seconds))
    assert appointment.duration == timedelta(seconds=seconds)


# --- Appointment.overlapping, on the database --------------------------------------------------


@pytest.fixture(scope="module")
def owner(module_database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": module_database_url})
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        yield make_user("owner@example.com")
        db.session.remove()
        db.engine.dispose()


BASE = datetime(2026, 3, 28, 12, tzinfo=UTC)
spans = st.tuples(st.integers(-5 * 24 * 60, 5 * 24 * 60), st.integers(0, 4 * 24 * 60))


@settings(max_examples=60, deadline=None)
@given(st.lists(spans, min_size=1, max_size=6), spans)
def test_overlapping_finds_exactly_the_appointments_that_touch_the_range(owner, stored, asked):
    """[start, end) of the range; an appointment touches it if it starts before its end and
    ends at or after its start (one that ends as the range begins is still shown)."""
    try:
        appointments = [
            Appointment(owner=owner, title=f"A{n}", start=BASE + timedelta(minutes=offset),
                        end=BASE + timedelta(minutes=offset + length))
            for n, (offset, length) in enumerate(stored)
        ]
        db.session.add_all(appointments)
        db.session.commit()
        start = BASE + timedelta(minutes=asked[0])
        end = start + timedelta(minutes=asked[1])

        found = db.session.scalars(Appointment.overlapping(owner, start, end)).all()

        touching = [a for a in appointments if a.start < end and a.end >= start]
        assert sorted(a.id for a in found) == sorted(a.id for a in touching)
        assert [(a.start, a.id) for a in found] == sorted((a.start, a.id) for a in found)
    finally:
        db.session.rollback()
        db.session.execute(delete(Appointment))
        owner.longest_appointment_seconds = 0
        db.session.commit()
    assert db.session.scalar(select(Appointment.id).limit(1)) is None
