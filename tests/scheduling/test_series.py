"""A series as the database keeps it: its rule and zone, where it ends, exceptions and excluded
occurrences, and the window queries that tell series from single appointments."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.recurrence import expand
from tests.support.factories import make_appointment
from tests.support.zones import BERLIN, UTC

HOUR = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(user, rule="FREQ=WEEKLY", start=None, title="Team meeting") -> Appointment:
    start = start or datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    return make_appointment(
        user, title=title, start=start, end=start + HOUR, rrule=rule,
        series_timezone="Europe/Berlin",
    )


def titles(query) -> list[str]:
    return [appointment.title for appointment in db.session.scalars(query)]


def test_a_series_knows_when_its_last_occurrence_ends(app, user):
    ten = weekly(user, "FREQ=WEEKLY;COUNT=10")
    assert ten.series_end == utc(2026, 5, 25, 7) + HOUR  # the tenth, 09:00 summer time
    until = weekly(user, "FREQ=WEEKLY;UNTIL=20260413T070000Z")
    assert until.series_end == utc(2026, 4, 13, 7) + HOUR
    endless = weekly(user)
    assert endless.series_end is None
    single = make_appointment(user, start=utc(2026, 5, 1, 9))
    assert single.series_end is None


def test_series_end_follows_a_changed_rule_and_start(app, user):
    series = weekly(user, "FREQ=WEEKLY;COUNT=2")
    assert series.series_end == utc(2026, 3, 30, 8)
    series.rrule = "FREQ=WEEKLY;COUNT=3"
    db.session.commit()
    assert series.series_end == utc(2026, 4, 6, 8)
    series.rrule, series.series_timezone = None, None
    db.session.commit()
    assert series.series_end is None


def test_the_range_query_leaves_series_out_and_the_series_query_finds_them(app, user):
    make_appointment(user, title="Dentist", start=utc(2036, 3, 3, 9))
    weekly(user)  # began in 2026, never ends
    weekly(user, "FREQ=WEEKLY;COUNT=3", title="Course")  # over in April 2026
    weekly(user, start=datetime(2037, 1, 5, 9, tzinfo=BERLIN), title="Later")
    window = (utc(2036, 3, 1), utc(2036, 4, 1))
    assert titles(Appointment.overlapping(user, *window)) == ["Dentist"]
    assert titles(Appointment.series_touching(user, *window)) == ["Team meeting"]
    (series,) = db.session.scalars(Appointment.series_touching(user, *window))
    assert recurrence_in(series, window)[0] == utc(2036, 3, 3, 8)  # a Monday, 09:00 in winter


def recurrence_in(series: Appointment, window) -> list[datetime]:
    recurrence = series.recurrence
    assert recurrence is not None
    return [occurrence.start for occurrence in expand(recurrence, *window)]


def test_an_exception_names_one_occurrence_of_one_series_once(app, user):
    series = weekly(user)
    moved = make_appointment(
        user, title="Team meeting, moved", start=utc(2026, 3, 31, 8),
        series_id=series.id, recurrence_id=utc(2026, 3, 30, 7),
    )
    assert moved.series_end is None
    with pytest.raises(IntegrityError):
        make_appointment(
            user, start=utc(2026, 4, 1, 8), series_id=series.id, recurrence_id=utc(2026, 3, 30, 7)
        )
    db.session.rollback()
    with pytest.raises(IntegrityError):
        make_appointment(user, start=utc(2026, 4, 1, 8), series_id=series.id)  # no occurrence
    db.session.rollback()


def test_a_series_has_a_zone_of_its_own(app, user):
    with pytest.raises(IntegrityError):
        make_appointment(user, start=utc(2026, 4, 1, 8), rrule="FREQ=DAILY")
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0


def test_exceptions_and_excluded_occurrences_go_with_their_series(app, user):
    series = weekly(user)
    make_appointment(user, start=utc(2026, 4, 7, 8), series_id=series.id,
                     recurrence_id=utc(2026, 4, 6, 7))
    db.session.add(ExcludedOccurrence(series_id=series.id, recurrence_id=utc(2026, 4, 13, 7)))
    db.session.commit()
    db.session.delete(series)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Appointment)) == 0
    assert db.session.scalar(select(func.count()).select_from(ExcludedOccurrence)) == 0
