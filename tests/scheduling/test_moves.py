"""Moving and resizing from the calendar: POST /appointments/<id>/move/, JSON in both ways,
guarded by the version the page was drawn from as the edit form is."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.extensions import db
from app.scheduling.models import Appointment
from app.scheduling.occurrences import instances_between
from tests.support.factories import make_appointment, make_user
from tests.support.queries import stored
from tests.support.zones import BERLIN, UTC


def move(browser, appointment_id: int, query: str = "", **values):
    """Send the move as the calendar's script does: the form fields and the CSRF header."""
    token = browser.token("/appointments/create/")
    return browser.client.post(
        f"/appointments/{appointment_id}/move/{query}",
        data=values,
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )


def test_a_move_changes_the_times_and_answers_the_new_version(logged_in, user):
    dentist = make_appointment(user, title="Dentist", start=datetime(2026, 5, 4, 8, tzinfo=UTC))
    response = move(logged_in, dentist.id, start="2026-05-05T14:15", end="2026-05-05T15:45",
                    version=dentist.version)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    moved = stored(dentist.id)
    assert (moved.start, moved.end) == (datetime(2026, 5, 5, 14, 15, tzinfo=BERLIN),
                                        datetime(2026, 5, 5, 15, 45, tzinfo=BERLIN))
    assert response.get_json() == {
        "id": dentist.id, "version": moved.version,
        "start": moved.start.astimezone(UTC).isoformat(),
        "end": moved.end.astimezone(UTC).isoformat(),
    }


def test_a_move_from_a_stale_page_is_refused_and_changes_nothing(logged_in, user):
    dentist = make_appointment(user, title="Dentist", start=datetime(2026, 5, 4, 8, tzinfo=UTC))
    drawn_at = dentist.version
    dentist.title = "Dentist, renamed elsewhere"
    db.session.commit()
    response = move(logged_in, dentist.id, start="2026-05-05T14:00", end="2026-05-05T15:00",
                    version=drawn_at)
    assert response.status_code == 409
    assert "changed" in response.get_json()["error"]["message"]
    db.session.expire_all()
    assert stored(dentist.id).start == datetime(2026, 5, 4, 8, tzinfo=UTC)


@pytest.mark.parametrize(("values", "field"), [
    ({"start": "2026-05-05T15:00", "end": "2026-05-05T14:00"}, "end"),
    ({"start": "tomorrow", "end": "2026-05-05T14:00"}, "start"),
    ({"start": "2026-03-29T02:30", "end": "2026-03-29T04:00"}, "start"),  # skipped in Berlin
    ({"end": "2026-05-05T14:00"}, "start"),
])
def test_bad_times_are_a_400_naming_the_field_and_change_nothing(logged_in, user, values, field):
    dentist = make_appointment(user, title="Dentist", start=datetime(2026, 5, 4, 8, tzinfo=UTC))
    response = move(logged_in, dentist.id, version=dentist.version, **values)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert field in error["fields"] and error["message"]
    db.session.expire_all()
    assert stored(dentist.id).start == datetime(2026, 5, 4, 8, tzinfo=UTC)


def test_another_users_appointment_is_404(logged_in):
    theirs = make_appointment(make_user(), title="Theirs")
    response = move(logged_in, theirs.id, start="2026-05-05T14:00", end="2026-05-05T15:00",
                    version=theirs.version)
    assert response.status_code == 404


def test_a_move_needs_the_csrf_token(logged_in, user):
    dentist = make_appointment(user, title="Dentist", start=datetime(2026, 5, 4, 8, tzinfo=UTC))
    response = logged_in.client.post(
        f"/appointments/{dentist.id}/move/",
        data={"start": "2026-05-05T14:00", "end": "2026-05-05T15:00", "version": dentist.version},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 400
    db.session.expire_all()
    assert stored(dentist.id).start == datetime(2026, 5, 4, 8, tzinfo=UTC)


def test_an_occurrence_moves_alone_and_the_series_version_guards_it(logged_in, user):
    start = datetime(2026, 5, 4, 9, tzinfo=BERLIN)  # a Monday
    series = make_appointment(user, title="Standup", start=start, end=start + timedelta(hours=1),
                              rrule="FREQ=WEEKLY;COUNT=3", series_timezone="Europe/Berlin")
    second = start + timedelta(days=7)
    query = f"?occurrence={second.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    response = move(logged_in, series.id, query, start="2026-05-12T10:00", end="2026-05-12T10:30",
                    version=series.version)
    assert response.status_code == 200, response.get_data(as_text=True)
    db.session.expire_all()
    shown = [(i.title, i.start) for i in instances_between(
        user, datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))]
    assert shown == [("Standup", start), ("Standup", datetime(2026, 5, 12, 10, tzinfo=BERLIN)),
                     ("Standup", start + timedelta(days=14))]
    exception = db.session.query(Appointment).filter_by(series_id=series.id).one()
    assert exception.recurrence_id == second
    assert response.get_json()["version"] == exception.version  # what guards its next move
    # The page drawn before this move is stale for the series' other occurrences.
    drawn_at = series.version - 1
    third = f"?occurrence={(start + timedelta(days=14)).astimezone(UTC):%Y%m%dT%H%M%SZ}"
    again = move(logged_in, series.id, third, start="2026-05-18T11:00", end="2026-05-18T12:00",
                 version=drawn_at)
    assert again.status_code == 409
    # The changed occurrence moves again under its own version.
    moved_again = move(logged_in, exception.id, start="2026-05-12T16:00",
                       end="2026-05-12T16:30", version=exception.version)
    assert moved_again.status_code == 200


def test_an_all_day_appointment_moves_by_whole_days(logged_in, user):
    holiday = make_appointment(user, title="Holiday", all_day=True,
                               start=datetime(2026, 5, 4, tzinfo=BERLIN),
                               end=datetime(2026, 5, 5, tzinfo=BERLIN))
    response = move(logged_in, holiday.id, start="2026-05-06T13:00", end="2026-05-08T09:00",
                    version=holiday.version)
    assert response.status_code == 200
    db.session.expire_all()
    moved = stored(holiday.id)
    assert (moved.start, moved.end) == (datetime(2026, 5, 6, tzinfo=BERLIN),
                                        datetime(2026, 5, 8, tzinfo=BERLIN))
