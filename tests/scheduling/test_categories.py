"""An appointment's category and colour (issue 20): kept through iCalendar both ways
(CATEGORIES, COLOR of RFC 7986), read back by vobject; the pages show them (see the views'
tests)."""

from __future__ import annotations

from datetime import datetime

import pytest
import vobject

from app.extensions import db
from tests.scheduling.test_import_fidelity import imported, rows
from tests.scheduling.test_ical import ics
from tests.support.factories import make_appointment, make_feed_token
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
