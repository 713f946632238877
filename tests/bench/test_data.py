"""Benchmark data: the measured user's calendar is the same whatever the table's size."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from app.scheduling.models import Appointment
from bench.data import (
    EXCEPTIONS_PER_SERIES,
    FULL_SCHEDULE,
    SERIES,
    SERIES_ROWS,
    Grid,
    appointments_per_user,
    build_database,
    grid_counts,
)
from bench.scenario import MEASURED_USER_ID, USERS
from tests.support.queries import count_appointments


def test_sizes_split_with_a_full_schedule_for_the_measured_user():
    counts = appointments_per_user(10_000)
    assert counts[0] == FULL_SCHEDULE and sum(counts) == 10_000 and len(counts) == USERS
    assert max(counts[1:]) - min(counts[1:]) <= 1
    assert appointments_per_user(USERS * FULL_SCHEDULE) == [FULL_SCHEDULE] * USERS
    with pytest.raises(ValueError):
        appointments_per_user(FULL_SCHEDULE - 1)


def test_build_fills_users_and_appointments_with_true_longest_spans(app):
    size = FULL_SCHEDULE + USERS - 1  # one appointment for each other user
    build_database(app, size, password_hash="not a real hash")

    # First: it disposes of the app's engine, which would orphan a connection the test holds.
    # Six weeks of the 50 weekday series; an exception that did not replace its occurrence
    # would show beside it.
    assert grid_counts(app) == Grid(appointments=60, occurrences=300)
    assert count_appointments() == size + SERIES_ROWS
    measured = db.session.get(User, MEASURED_USER_ID)
    spans = [
        a.end - a.start
        for a in db.session.scalars(select(Appointment).filter_by(owner_id=MEASURED_USER_ID))
    ]
    assert measured.longest_appointment_seconds == max(spans).total_seconds()
    assert measured.confirmed_at is not None and measured.active


def test_build_gives_the_measured_user_old_and_new_series_with_exceptions(app):
    build_database(app, FULL_SCHEDULE + USERS - 1, password_hash="not a real hash")

    series = db.session.scalars(select(Appointment).where(Appointment.rrule.is_not(None))).all()
    assert len(series) == SERIES and {one.owner_id for one in series} == {MEASURED_USER_ID}
    assert sorted({one.start.year for one in series}) == [2016, 2026]
    assert {one.series_end for one in series} == {None}
    exceptions = db.session.scalars(
        select(Appointment).where(Appointment.series_id.in_([one.id for one in series]))
    ).all()
    assert len(exceptions) == SERIES * EXCEPTIONS_PER_SERIES
    # Within two weeks of the grid of August 2026 (27 July to 6 September).
    months = {(e.recurrence_id.year, e.recurrence_id.month) for e in exceptions}
    assert months <= {(2026, 7), (2026, 8), (2026, 9)}
