"""The dashboard's "appointments this week": the viewer's own week, Monday 00:00 to Monday 00:00
on their clock, whatever day it is in UTC."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.factories import PASSWORD, make_user
from tests.support.zones import UTC

MINUTE = timedelta(minutes=1)
WEEK_COUNT = re.compile(r'id="count-appointments-this-week">\s*(\d+)\s*<')


def add_appointment(owner, start: datetime) -> None:
    db.session.add(Appointment(
        owner=owner, title=f"At {start.isoformat()}", start=start, end=start + timedelta(hours=1),
    ))
    db.session.commit()


def local(zone: str, day: date, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in ``zone``, as the UTC moment it is."""
    wall_clock = datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo(zone))
    return wall_clock.astimezone(UTC)


# (the viewer's zone, the moment the page is seen on their clock, their week's Monday). Each
# is seen when the UTC date, and its weekday, is another than theirs.
WEEKS = [
    # Monday morning in Auckland (NZST, UTC+12) is still Sunday in UTC.
    pytest.param("Pacific/Auckland", (date(2026, 6, 15), 8), date(2026, 6, 15), id="auckland"),
    # Sunday evening in Los Angeles (PDT, UTC-7) is already Monday in UTC.
    pytest.param(
        "America/Los_Angeles", (date(2026, 6, 21), 20), date(2026, 6, 15), id="los-angeles"
    ),
    # The same, in the week the clocks go forward (Sunday 8 March 2026): the week ends at
    # Monday 00:00 PDT, an hour earlier in UTC than it started on Monday 00:00 PST.
    pytest.param(
        "America/Los_Angeles", (date(2026, 3, 8), 20), date(2026, 3, 2), id="los-angeles-dst"
    ),
]


@pytest.mark.parametrize("zone, seen_at, monday", WEEKS)
def test_appointments_this_week_counts_the_viewers_local_week(
    app, browser, monkeypatch, zone, seen_at, monday
):
    day, hour = seen_at
    now = local(zone, day, hour)
    assert now.date() != day and now.weekday() != day.weekday()  # the case this test is for
    next_monday = monday + timedelta(days=7)

    make_user("staff@example.com", roles=("staff",), timezone=zone)
    owner = make_user("owner@example.com", timezone="Europe/Berlin")  # the viewer's zone counts
    add_appointment(owner, local(zone, monday) - MINUTE)  # Sunday 23:59 before: last week
    add_appointment(owner, local(zone, monday))  # Monday 00:00: this week
    add_appointment(owner, local(zone, monday + timedelta(days=2), 12))  # Wednesday noon
    add_appointment(owner, local(zone, next_monday) - MINUTE)  # Sunday 23:59: this week still
    add_appointment(owner, local(zone, next_monday))  # Sunday 24:00, next Monday: next week
    monkeypatch.setattr("app.admin.dashboard.now_utc", lambda: now)

    browser.login("staff@example.com", PASSWORD)
    response = browser.get("/admin/")
    assert response.status_code == 200
    assert WEEK_COUNT.findall(response.get_data(as_text=True)) == ["3"]


def test_the_week_starts_at_midnight_not_at_this_time_of_day(app, browser, monkeypatch):
    """In UTC too: on Wednesday afternoon, Monday morning is this week."""
    make_user("staff@example.com", roles=("staff",), timezone="UTC")
    owner = make_user("owner@example.com")
    monday = date(2026, 6, 15)
    add_appointment(owner, local("UTC", monday) - MINUTE)  # last week
    add_appointment(owner, local("UTC", monday, 9))  # earlier in the day than it is now
    add_appointment(owner, local("UTC", monday + timedelta(days=6), 23, 59))  # Sunday night
    monkeypatch.setattr(
        "app.admin.dashboard.now_utc", lambda: local("UTC", monday + timedelta(days=2), 15)
    )

    browser.login("staff@example.com", PASSWORD)
    page = browser.get("/admin/").get_data(as_text=True)
    assert WEEK_COUNT.findall(page) == ["2"]
