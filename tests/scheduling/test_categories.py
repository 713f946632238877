"""An appointment's category and colour (issue 20): kept through iCalendar both ways
(CATEGORIES, COLOR of RFC 7986), read back by vobject; the pages show them (see the views'
tests)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
import vobject

from app.extensions import db
from tests.scheduling.test_import_fidelity import imported, rows
from tests.scheduling.test_ical import ics
from tests.support.browser import page
from tests.support.factories import appointment_form, make_appointment, make_feed_token
from tests.support.zones import UTC


def test_category_and_colour_travel_in_the_feed(client, user):
    make_appointment(user, title="Review", category="Work", color="teal")
    make_appointment(user, title="Plain")
    text = client.get(f"/calendar/feed/{make_feed_token(user)}.ics").get_data(as_text=True)
    events = {event.summary.value: event for event in vobject.readOne(text).vevent_list}
    assert events["Review"].categories.value == ["Work"]
    assert events["Review"].color.value == "teal"
    assert "categories" not in events["Plain"].contents and "color" not in events["Plain"].contents


@pytest.mark.parametrize(("lines", "category", "color"), [
    ("CATEGORIES:Work,Travel\nCOLOR:SeaGreen", "Work", "seagreen"),
    ("CATEGORIES:Dentist\\, Dr. Lee", "Dentist, Dr. Lee", ""),
    ("COLOR:hotpink", "", ""),  # not one of sched's colours: the calendar's own
    ("CATEGORIES:" + "x" * 80, "x" * 64, ""),
    ("", "", ""),
])
def test_import_keeps_the_first_category_and_a_known_colour(logged_in, user, lines, category,
                                                            color):
    event = f"UID:one@example.com\nSUMMARY:Check-up\nDTSTART:20260302T100000Z\nDURATION:PT1H\n{lines}"
    _, done = imported(logged_in, ics(event))
    assert "1 appointment added." in done
    (stored,) = rows()
    assert (stored.category, stored.color) == (category, color)
    assert stored.start == datetime(2026, 3, 2, 10, tzinfo=UTC)


def test_an_export_imported_again_keeps_category_and_colour(logged_in, user):
    review = make_appointment(user, title="Review", category="Work", color="firebrick",
                              start=datetime(2026, 3, 2, 10, tzinfo=UTC))
    data = logged_in.get(f"/appointments/{review.id}/ics").data
    review.category, review.color = "", ""
    db.session.commit()
    _, done = imported(logged_in, data)
    assert "updated" in done
    (stored,) = rows()
    assert (stored.category, stored.color) == ("Work", "firebrick")


# ----------------------------------------------------------------------------------------------
# The form and the views
# ----------------------------------------------------------------------------------------------


def test_the_form_keeps_a_category_and_a_colour_and_every_view_shows_it(logged_in, user):
    created = logged_in.submit("/appointments/create/", appointment_form(
        title="Review", start="2026-05-06T10:00", end="2026-05-06T11:00",
        category="Work <b>", color="teal",
    ))
    assert created.status_code == 302, created.get_data(as_text=True)
    (stored,) = rows()
    assert (stored.category, stored.color) == ("Work <b>", "teal")
    detail = page(logged_in, f"/appointments/{stored.id}/")
    assert "Work &lt;b&gt;" in detail and "Teal" in detail
    for url in ("/calendar/month/2026/5/", "/calendar/week/2026/5/4/", "/calendar/day/2026/5/6/",
                "/calendar/agenda/?start=2026-05-04"):
        html = page(logged_in, url)
        assert re.search(r'class="[^"]*\bcolor-teal\b[^"]*"[^>]*>.*?Review', html, re.S), url


def test_an_occurrence_of_a_coloured_series_has_its_colour(logged_in, user):
    start = datetime(2026, 5, 4, 9, tzinfo=UTC)
    make_appointment(user, title="Standup", start=start, end=start + timedelta(minutes=30),
                     rrule="FREQ=DAILY;COUNT=5", series_timezone="UTC", color="firebrick")
    html = page(logged_in, "/calendar/week/2026/5/4/")
    assert html.count("color-firebrick") >= 5


@pytest.mark.parametrize(("changes", "field"), [
    ({"color": "hotpink"}, "color"),
    ({"color": '" onmouseover="x'}, "color"),
    ({"category": "x" * 65}, "category"),
    ({"category": "tab\x07bell"}, "category"),
])
def test_a_colour_or_category_sched_does_not_keep_is_refused_next_to_the_field(
    logged_in, user, changes, field
):
    response = logged_in.submit("/appointments/create/", appointment_form(**changes))
    assert response.status_code == 400
    assert f'id="{field}-errors"' in response.get_data(as_text=True)
    assert rows() == []
