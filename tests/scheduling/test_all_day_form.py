"""All-day appointments on the form: days alone, and an end at midnight that closes the day
before instead of making a second day; the form works with dates or date-times."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.browser import text
from tests.support.factories import appointment_form, make_appointment
from tests.support.zones import UTC

BERLIN_MIDNIGHT_MAY_4 = datetime(2026, 5, 3, 22, tzinfo=UTC)  # summer time


def saved(logged_in, **changes) -> Appointment:
    response = logged_in.submit("/appointments/create/", appointment_form(all_day="y", **changes))
    assert response.status_code == 302, text(response)
    return db.session.scalars(select(Appointment)).one()


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2026-05-04T00:00", "2026-05-05T00:00", 1),  # an end at midnight: Monday alone
        ("2026-05-04T10:00", "2026-05-04T11:00", 1),  # the same day
        ("2026-05-04T00:00", "2026-05-04T00:00", 1),
        ("2026-05-04", "2026-05-04", 1),  # dates alone, as the date inputs send them
        ("2026-05-04", "2026-05-05", 2),  # a date alone is the last day itself
        ("2026-05-04T09:00", "2026-05-06T00:00", 2),
        ("2026-05-04T09:00", "2026-05-06T08:00", 3),
    ],
)
def test_an_all_day_appointment_covers_the_days_meant(logged_in, start, end, days):
    appointment = saved(logged_in, start=start, end=end)
    assert appointment.all_day
    assert appointment.start == BERLIN_MIDNIGHT_MAY_4
    assert appointment.duration == timedelta(days=days)


def test_the_edit_form_shows_days_and_saving_it_unchanged_keeps_them(logged_in, user):
    appointment = make_appointment(
        user, all_day=True, start=BERLIN_MIDNIGHT_MAY_4,
        end=BERLIN_MIDNIGHT_MAY_4 + timedelta(days=2),
    )
    page = text(logged_in.get(f"/appointments/{appointment.id}/edit/"))
    assert 'id="start" name="start" required type="date" value="2026-05-04"' in page
    assert 'id="end" name="end" required type="date" value="2026-05-06"' in page
    version = str(appointment.version)
    response = logged_in.submit(
        f"/appointments/{appointment.id}/edit/",
        appointment_form(start="2026-05-04", end="2026-05-06", all_day="y", version=version),
    )
    assert response.status_code == 302, text(response)
    db.session.refresh(appointment)
    assert appointment.duration == timedelta(days=3)


def test_dates_alone_without_all_day_ask_for_times(logged_in):
    response = logged_in.submit(
        "/appointments/create/", appointment_form(start="2026-05-04", end="2026-05-04")
    )
    page = text(response)
    assert response.status_code == 400
    assert "Enter a time as well, or choose “All day”." in page
    # Shown again as date and time inputs, at midnight, to add the times to.
    assert 'name="start" required type="datetime-local" value="2026-05-04T00:00"' in page
    assert db.session.scalars(select(Appointment)).all() == []


def test_a_form_shown_again_keeps_an_all_day_end_at_midnight_on_its_day(logged_in):
    response = logged_in.submit(
        "/appointments/create/",
        appointment_form(title="", start="2026-05-04T00:00", end="2026-05-05T00:00", all_day="y"),
    )
    assert response.status_code == 400
    page = text(response)
    # The title is missing: the days come back as the dates they stand for.
    assert 'name="start" required type="date" value="2026-05-04"' in page
    assert 'name="end" required type="date" value="2026-05-04"' in page
