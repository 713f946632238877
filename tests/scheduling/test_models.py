"""The appointment model: duration, and the range query every calendar view uses."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from app.extensions import db
from tests.support.factories import make_appointment, make_user
from tests.support.zones import UTC

DAY = timedelta(days=1)


def at(day: int, hour: int = 9) -> datetime:
    return datetime(2026, 5, day, hour, tzinfo=UTC)


def titles(owner, start, end) -> list[str]:
    from app.scheduling.models import Appointment

    return [a.title for a in db.session.scalars(Appointment.overlapping(owner, start, end))]


def test_overlapping_finds_everything_that_touches_the_range(app, user):
    make_appointment(user, title="before", start=at(1), end=at(1, 10))
    make_appointment(user, title="inside", start=at(10), end=at(10, 10))
    make_appointment(user, title="across the start", start=at(4, 22), end=at(5, 2))
    make_appointment(user, title="long trip", start=at(1), end=at(20))
    make_appointment(user, title="after", start=at(20), end=at(20, 10))
    make_appointment(make_user(), title="someone else's", start=at(10), end=at(10, 10))
    assert titles(user, at(5, 0), at(20, 0)) == ["long trip", "across the start", "inside"]


def test_longest_appointment_is_tracked_on_every_write(app, user):
    appointment = make_appointment(user, start=at(1), end=at(1, 10))
    assert user.longest_appointment_seconds == 3600
    appointment.end = at(3)
    db.session.commit()
    assert user.longest_appointment_seconds == int((at(3) - at(1)).total_seconds())
    # Shortening it again never shrinks the bound, which stays safe.
    appointment.end = at(1, 10)
    db.session.commit()
    assert user.longest_appointment_seconds == int((at(3) - at(1)).total_seconds())


def test_all_day_duration_counts_whole_days_across_a_clock_change(app, user):
    from zoneinfo import ZoneInfo

    berlin = ZoneInfo("Europe/Berlin")
    # 28 March to 30 March 2026 in Berlin spans the spring change (a 23-hour day).
    start = datetime(2026, 3, 28, tzinfo=berlin)
    end = datetime(2026, 3, 30, tzinfo=berlin)
    appointment = make_appointment(user, start=start, end=end, all_day=True)
    assert appointment.duration == 3 * DAY


def test_an_appointment_may_span_the_whole_calendar(app, user):
    """Three centuries are more seconds than a 32-bit column holds (PostgreSQL refused them)."""
    start = datetime(1900, 1, 1, tzinfo=timezone.utc)
    end = datetime(2199, 12, 31, tzinfo=timezone.utc)
    appointment = make_appointment(user, title="Everything", start=start, end=end)
    db.session.expire_all()
    assert user.longest_appointment_seconds == (end - start).total_seconds() > 2**31
    assert appointment.duration == end - start
