"""Overlapping appointments: a warning that names them, and a way to save anyway."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from sqlalchemy import select

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.factories import make_appointment, make_user
from tests.support.html_form import HTMLForm
from tests.support.queries import count_appointments
from tests.support.zones import BERLIN

CREATE = "/appointments/create/"


def berlin(day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A moment in May 2026 on Olive's clock."""
    return datetime(2026, 5, day, hour, minute, tzinfo=BERLIN)


def form(
    title="Dentist", start="2026-05-04T10:30", end="2026-05-04T11:30", all_day=False, **more
):
    data = {"title": title, "start": start, "end": end, "location": "", "description": "", **more}
    if all_day:
        data["all_day"] = "y"
    return data


def warning(html: str) -> str:
    """The overlap warning's text on the page, or "" if there is none."""
    if 'id="overlap-warning"' not in html:
        return ""
    return html.split('id="overlap-warning"', 1)[1].split("</div>", 1)[0]


def test_overlap_warns_names_the_other_and_stores_nothing(logged_in, user):
    standup = make_appointment(user, title="Team standup", start=berlin(4, 10), end=berlin(4, 11))
    response = logged_in.submit(CREATE, form())
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    alert = warning(html)
    assert 'role="alert"' in html and "overlaps another of your appointments" in alert
    assert f'<a href="/appointments/{standup.id}/" class="alert-link">Team standup</a>' in alert
    assert re.search(r"Mon, May 4, 2026, 10:00\s*–\s*11:00\s*AM", alert)
    assert 'name="confirm_overlap"' in html and 'value="Save anyway"' in html
    assert 'value="Dentist"' in html and 'value="2026-05-04T10:30"' in html
    assert count_appointments() == 1


def test_save_anyway_stores_what_was_typed(logged_in, user):
    make_appointment(user, title="Team standup", start=berlin(4, 10), end=berlin(4, 11))
    page = logged_in.submit(CREATE, form(description="Bring the card.\nAsk about <teeth>."))
    response = HTMLForm(page.get_data(as_text=True)).press(
        logged_in.client, CREATE, "confirm_overlap"
    )
    assert response.status_code == 302
    detail = logged_in.get(response.headers["Location"]).get_data(as_text=True)
    assert "Appointment “Dentist” created." in detail
    dentist = db.session.scalars(select(Appointment).filter_by(title="Dentist")).one()
    assert (dentist.start, dentist.end) == (berlin(4, 10, 30), berlin(4, 11, 30))
    assert dentist.description == "Bring the card.\nAsk about <teeth>."
    assert count_appointments() == 2


def test_the_plain_button_checks_again(logged_in, user):
    make_appointment(user, title="Team standup", start=berlin(4, 10), end=berlin(4, 11))
    page = logged_in.submit(CREATE, form())
    response = HTMLForm(page.get_data(as_text=True)).press(logged_in.client, CREATE)
    assert response.status_code == 200
    assert "Team standup" in warning(response.get_data(as_text=True))
    assert count_appointments() == 1


def test_moving_clear_after_a_warning_saves_without_asking(logged_in, user):
    make_appointment(user, title="Team standup", start=berlin(4, 10), end=berlin(4, 11))
    page = logged_in.submit(CREATE, form())
    response = HTMLForm(page.get_data(as_text=True)).press(
        logged_in.client, CREATE, start="2026-05-04T11:00", end="2026-05-04T12:00"
    )
    assert response.status_code == 302
    assert count_appointments() == 2


# (existing start, end), (new start, end) on 4 May on Olive's clock, and whether they overlap.
TIMED_CASES = [
    pytest.param(("10:00", "11:00"), ("09:00", "10:00"), False, id="ends-as-other-starts"),
    pytest.param(("10:00", "11:00"), ("11:00", "12:00"), False, id="starts-as-other-ends"),
    pytest.param(("10:00", "11:00"), ("10:59", "11:30"), True, id="one-minute-in"),
    pytest.param(("10:00", "11:00"), ("09:00", "12:00"), True, id="around"),
    pytest.param(("10:00", "11:00"), ("10:15", "10:45"), True, id="inside"),
    pytest.param(("10:00", "11:00"), ("10:00", "10:00"), True, id="instant-at-its-start"),
    pytest.param(("10:00", "11:00"), ("10:30", "10:30"), True, id="instant-inside"),
    pytest.param(("10:00", "11:00"), ("11:00", "11:00"), False, id="instant-at-its-end"),
    pytest.param(("10:00", "10:00"), ("10:00", "10:00"), True, id="two-instants-together"),
    pytest.param(("10:00", "10:00"), ("09:00", "11:00"), True, id="around-an-instant"),
    pytest.param(("10:00", "10:00"), ("10:00", "11:00"), True, id="starting-at-an-instant"),
    pytest.param(("10:00", "10:00"), ("09:00", "10:00"), False, id="ending-at-an-instant"),
]


@pytest.mark.parametrize(("existing", "new", "warns"), TIMED_CASES)
def test_only_true_overlaps_warn(logged_in, user, existing, new, warns):
    make_appointment(
        user,
        title="Team standup",
        start=datetime.fromisoformat(f"2026-05-04T{existing[0]}").replace(tzinfo=BERLIN),
        end=datetime.fromisoformat(f"2026-05-04T{existing[1]}").replace(tzinfo=BERLIN),
    )
    response = logged_in.submit(
        CREATE, form(start=f"2026-05-04T{new[0]}", end=f"2026-05-04T{new[1]}")
    )
    if warns:
        assert response.status_code == 200
        assert "Team standup" in warning(response.get_data(as_text=True))
        assert count_appointments() == 1
    else:
        assert response.status_code == 302
        assert count_appointments() == 2


def test_warning_names_every_overlap_in_time_order(logged_in, user):
    make_appointment(user, title="Lunch", start=berlin(4, 12), end=berlin(4, 13))
    make_appointment(user, title="Team standup", start=berlin(4, 10), end=berlin(4, 11))
    make_appointment(user, title="Evening class", start=berlin(4, 18), end=berlin(4, 20))
    response = logged_in.submit(CREATE, form(start="2026-05-04T10:30", end="2026-05-04T12:30"))
    alert = warning(response.get_data(as_text=True))
    assert "overlaps 2 of your other appointments" in alert
    assert alert.index("Team standup") < alert.index("Lunch")
    assert "Evening class" not in alert
    assert count_appointments() == 3


def test_editing_does_not_warn_about_itself(logged_in, user):
    dentist = make_appointment(user, title="Dentist", start=berlin(4, 10), end=berlin(4, 11))
    response = logged_in.submit(
        f"/appointments/{dentist.id}/edit/",
        form(start="2026-05-04T10:30", end="2026-05-04T11:30", version="1"),
    )
    assert response.status_code == 302
    db.session.refresh(dentist)
    assert dentist.start == berlin(4, 10, 30)


def test_editing_into_another_warns_changes_nothing_until_confirmed(logged_in, user):
    dentist = make_appointment(user, title="Dentist", start=berlin(4, 8), end=berlin(4, 9))
    standup = make_appointment(user, title="Team standup", start=berlin(4, 10), end=berlin(4, 11))
    edit_url = f"/appointments/{dentist.id}/edit/"
    page = logged_in.submit(edit_url, form(title="Dentist, moved", version="1"))
    alert = warning(page.get_data(as_text=True))
    assert f'href="/appointments/{standup.id}/"' in alert
    assert f'href="/appointments/{dentist.id}/"' not in alert
    db.session.refresh(dentist)
    assert (dentist.title, dentist.start) == ("Dentist", berlin(4, 8))

    response = HTMLForm(page.get_data(as_text=True)).press(
        logged_in.client, edit_url, "confirm_overlap"
    )
    assert response.status_code == 302
    db.session.refresh(dentist)
    assert (dentist.title, dentist.start) == ("Dentist, moved", berlin(4, 10, 30))


def test_other_users_appointments_never_warn_nor_show(logged_in, user):
    stranger = make_user(timezone="Europe/Berlin")
    make_appointment(stranger, title="Secret interview", start=berlin(4, 10), end=berlin(4, 12))
    response = logged_in.submit(CREATE, form())
    assert response.status_code == 302
    assert count_appointments() == 2

    make_appointment(user, title="Team standup", start=berlin(5, 10), end=berlin(5, 11))
    response = logged_in.submit(CREATE, form(start="2026-05-05T10:30", end="2026-05-05T11:30"))
    html = response.get_data(as_text=True)
    assert "Team standup" in warning(html)
    assert "Secret interview" not in html


# An all-day appointment is stored from the local midnight of its first day to that of its last.
ALL_DAY_CASES = [
    pytest.param(
        (berlin(4), berlin(4), True), form(), True, id="timed-during-an-all-day"
    ),
    pytest.param(
        (berlin(4), berlin(5), True),
        form(start="2026-05-05T22:00", end="2026-05-05T23:00"),
        True,
        id="timed-late-on-the-last-day",
    ),
    pytest.param(
        (berlin(4), berlin(4), True),
        form(start="2026-05-05T00:00", end="2026-05-05T01:00"),
        False,
        id="timed-the-day-after",
    ),
    pytest.param(
        (berlin(4), berlin(4), True),
        form(start="2026-05-03T23:00", end="2026-05-04T00:00"),
        False,
        id="timed-ending-as-the-day-starts",
    ),
    pytest.param(
        (berlin(4, 15), berlin(4, 16), False),
        form(start="2026-05-04T00:00", end="2026-05-04T00:00", all_day=True),
        True,
        id="all-day-over-a-timed",
    ),
    pytest.param(
        (berlin(4), berlin(4), True),
        form(start="2026-05-05T00:00", end="2026-05-06T00:00", all_day=True),
        False,
        id="all-day-the-day-after",
    ),
    pytest.param(
        (berlin(3), berlin(4), True),
        form(start="2026-05-04T09:00", end="2026-05-06T09:00", all_day=True),
        True,
        id="all-days-sharing-a-day",
    ),
]


@pytest.mark.parametrize(("existing", "new", "warns"), ALL_DAY_CASES)
def test_all_day_appointments_cover_their_whole_days(logged_in, user, existing, new, warns):
    start, end, all_day = existing
    make_appointment(user, title="Conference", start=start, end=end, all_day=all_day)
    response = logged_in.submit(CREATE, new)
    if warns:
        alert = warning(response.get_data(as_text=True))
        assert "Conference" in alert
        assert count_appointments() == 1
    else:
        assert response.status_code == 302
        assert count_appointments() == 2


def test_all_day_warning_shows_the_days(logged_in, user):
    make_appointment(user, title="Conference", start=berlin(4), end=berlin(5), all_day=True)
    alert = warning(logged_in.submit(CREATE, form()).get_data(as_text=True))
    assert re.search(r"Mon, May 4\s*–\s*Tue, May 5, 2026</time> · All day", alert)
