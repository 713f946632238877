"""iCalendar fidelity of what sched sends (issue 19): durations written as durations, UIDs that
do not depend on the name a request came by, all-day dates that stay put when their owner
moves zones, escaped calendar names, a feed that calendar programs can cache (ETag,
Last-Modified, 304) and that counts changes (SEQUENCE) and carries reminders (VALARM).
Each file is read back by vobject, a parser sched does not use itself."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import vDuration
from sqlalchemy import select

from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.occurrences import instances_between
from tests.scheduling.test_calendar_views import cell
from tests.support.browser import page
from tests.support.factories import appointment_form, make_appointment, make_feed_token
from tests.support.zones import BERLIN, UTC

LOS_ANGELES = "America/Los_Angeles"


def feed(client, token: str, **headers):
    return client.get(f"/calendar/feed/{token}.ics", headers=headers)


def read(response) -> vobject.base.Component:
    assert response.status_code == 200, response.get_data(as_text=True)
    return vobject.readOne(response.get_data(as_text=True), validate=True)


def uids(response) -> set[str]:
    return {event.uid.value for event in read(response).vevent_list}


def move_to(browser, user, zone: str) -> None:
    """Change the time zone on the profile page, as the user does."""
    response = browser.submit(
        "/account/", {"full_name": user.full_name, "locale": "en", "timezone": zone},
        follow_redirects=True,
    )
    assert response.status_code == 200
    db.session.expire_all()
    assert user.timezone == zone


# ----------------------------------------------------------------------------------------------
# Durations, names, UIDs
# ----------------------------------------------------------------------------------------------


def test_the_feed_says_how_often_to_fetch_it_as_a_duration(client, user):
    text = feed(client, make_feed_token(user)).get_data(as_text=True)
    assert "\r\nX-PUBLISHED-TTL:PT1H\r\n" in text
    assert "\r\nREFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in text
    calendar = vobject.readOne(text)
    assert vDuration.from_ical(calendar.x_published_ttl.value) == timedelta(hours=1)


@pytest.mark.parametrize("name", [
    "Smith, Jane",
    r"Back\nslash; and more",
    "Ünïcode · ok",
])
def test_the_calendar_name_arrives_whole(client, user, name):
    user.full_name = name
    db.session.commit()
    calendar = read(feed(client, make_feed_token(user)))
    assert calendar.x_wr_calname.value == f"sched · {name}"
    assert calendar.contents["name"][0].value == f"sched · {name}"


def test_uids_are_the_same_whatever_host_the_feed_is_fetched_by(app, client, user):
    make_appointment(user, title="Dentist")
    token = make_feed_token(user)
    seen = [
        uids(client.get(f"/calendar/feed/{token}.ics", base_url=base))
        for base in ("http://127.0.0.1:5000", "http://localhost", "https://sched.example.org")
    ]
    assert seen[0] == seen[1] == seen[2]
    (uid,) = seen[0]
    assert uid.endswith("@127.0.0.1")  # the host of SITE_URL


def test_a_configured_uid_domain_names_every_event(app, client, user):
    app.config["ICAL_UID_DOMAIN"] = "calendar.example.org"
    make_appointment(user, title="Dentist")
    (uid,) = uids(feed(client, make_feed_token(user)))
    assert uid.endswith("@calendar.example.org")


# ----------------------------------------------------------------------------------------------
# All-day dates never move with a zone
# ----------------------------------------------------------------------------------------------


def test_an_all_day_appointment_stays_on_its_day_when_its_owner_moves(logged_in, user):
    created = logged_in.submit("/appointments/create/", appointment_form(
        title="Holiday", start="2030-12-20T00:00", end="2030-12-20T00:00", all_day="y",
    ))
    assert created.status_code == 302
    move_to(logged_in, user, LOS_ANGELES)
    month = page(logged_in, "/calendar/month/2030/12/")
    assert "Holiday" in cell(month, date(2030, 12, 20))
    assert "Holiday" not in cell(month, date(2030, 12, 19))
    exported = logged_in.get("/calendar/export.ics?from=2030-12-01&to=2030-12-31")
    (event,) = vobject.readOne(exported.get_data(as_text=True)).vevent_list
    assert (event.dtstart.value, event.dtend.value) == (date(2030, 12, 20), date(2030, 12, 21))
    # And back: still the 20th.
    move_to(logged_in, user, "Europe/Berlin")
    assert "Holiday" in cell(page(logged_in, "/calendar/month/2030/12/"), date(2030, 12, 20))


def test_an_all_day_series_keeps_its_days_its_changes_and_its_gaps(logged_in, user):
    start = datetime(2030, 12, 2, tzinfo=BERLIN)  # a Monday
    series = make_appointment(user, title="Gym", start=start, end=start, all_day=True,
                              rrule="FREQ=WEEKLY;COUNT=4", series_timezone="Europe/Berlin")
    db.session.add_all([
        ExcludedOccurrence(series_id=series.id, recurrence_id=start + timedelta(days=7)),
        Appointment(owner=user, title="Gym, moved", all_day=True, series_id=series.id,
                    recurrence_id=start + timedelta(days=14),
                    start=start + timedelta(days=15), end=start + timedelta(days=15)),
    ])
    db.session.commit()
    move_to(logged_in, user, LOS_ANGELES)
    db.session.expire_all()
    shown = {
        (instance.title, instance.start.astimezone(ZoneInfo(LOS_ANGELES)).date())
        for instance in instances_between(user, datetime(2030, 12, 1, tzinfo=UTC),
                                          datetime(2031, 1, 1, tzinfo=UTC))
    }
    assert shown == {
        ("Gym", date(2030, 12, 2)),
        ("Gym, moved", date(2030, 12, 17)),
        ("Gym", date(2030, 12, 23)),
    }
    text = logged_in.get(f"/appointments/{series.id}/ics").get_data(as_text=True)
    assert "DTSTART;VALUE=DATE:20301202" in text
    assert "EXDATE;VALUE=DATE:20301209" in text
    assert "RECURRENCE-ID;VALUE=DATE:20301216" in text
    assert db.session.get(Appointment, series.id).series_timezone == LOS_ANGELES


def test_timed_appointments_keep_their_moment_when_their_owner_moves(logged_in, user):
    meeting = make_appointment(user, title="Call", start=datetime(2030, 12, 20, 9, tzinfo=BERLIN))
    move_to(logged_in, user, LOS_ANGELES)
    assert db.session.get(Appointment, meeting.id).start == datetime(2030, 12, 20, 8, tzinfo=UTC)


# ----------------------------------------------------------------------------------------------
# A feed that programs can cache
# ----------------------------------------------------------------------------------------------


def test_an_unchanged_feed_is_the_same_bytes_with_an_etag_and_last_modified(client, user):
    make_appointment(user, title="Dentist")
    token = make_feed_token(user)
    first = feed(client, token)
    time.sleep(1.1)  # DTSTAMP must not follow the clock
    second = feed(client, token)
    assert first.data == second.data
    assert first.headers["ETag"] == second.headers["ETag"]
    assert first.last_modified is not None
    assert second.last_modified == first.last_modified


def test_if_modified_since_answers_304_until_the_calendar_changes(client, user):
    dentist = make_appointment(user, title="Dentist")
    make_appointment(user, title="Yoga")  # changed later than the dentist
    token = make_feed_token(user)
    since = feed(client, token).headers["Last-Modified"]
    unchanged = feed(client, token, **{"If-Modified-Since": since})
    assert unchanged.status_code == 304 and unchanged.data == b""
    time.sleep(1.1)  # Last-Modified counts whole seconds
    # Deleting an appointment that is not the latest change still changes the feed.
    db.session.delete(dentist)
    db.session.commit()
    changed = feed(client, token, **{"If-Modified-Since": since})
    assert changed.status_code == 200
    assert [event.summary.value for event in read(changed).vevent_list] == ["Yoga"]
    assert changed.headers["Last-Modified"] != since


def test_a_deletion_through_the_page_changes_the_feeds_version(logged_in, user, client):
    dentist = make_appointment(user, title="Dentist")
    make_appointment(user, title="Yoga")
    token = make_feed_token(user)
    before = feed(client, token)
    time.sleep(1.1)
    deleted = logged_in.client.delete(
        f"/appointments/{dentist.id}/delete/",
        headers={"X-CSRFToken": logged_in.token(f"/appointments/{dentist.id}/")},
    )
    assert deleted.status_code == 200, deleted.get_data(as_text=True)
    for headers in ({"If-None-Match": before.headers["ETag"]},
                    {"If-Modified-Since": before.headers["Last-Modified"]}):
        assert feed(client, token, **headers).status_code == 200


def test_sequence_counts_each_saved_change(logged_in, user):
    dentist = make_appointment(user, title="Dentist")
    token = make_feed_token(user)
    (event,) = read(feed(logged_in.client, token)).vevent_list
    assert event.sequence.value == "0"
    for title in ("Dentist, moved", "Dentist, moved again"):
        dentist.title = title
        db.session.commit()
    (event,) = read(feed(logged_in.client, token)).vevent_list
    assert event.sequence.value == "2"


def test_a_reminder_travels_as_an_alarm(client, user):
    make_appointment(user, title="Dentist", reminder_minutes=90)
    make_appointment(user, title="Yoga")
    calendar = read(feed(client, make_feed_token(user)))
    alarms = {event.summary.value: event.contents.get("valarm", []) for event in calendar.vevent_list}
    assert alarms["Yoga"] == []
    (alarm,) = alarms["Dentist"]
    assert alarm.action.value == "DISPLAY"
    assert alarm.trigger.value == -timedelta(minutes=90)
    assert alarm.description.value == "Dentist"


def test_a_zone_changed_anywhere_keeps_the_all_day_dates(user):
    """The staff's user form and scripts change the zone too: the hook is on the session."""
    holiday = make_appointment(user, title="Holiday", all_day=True,
                               start=datetime(2030, 12, 20, tzinfo=BERLIN),
                               end=datetime(2030, 12, 21, tzinfo=BERLIN))
    user.timezone = "Pacific/Auckland"
    db.session.commit()
    row = db.session.scalars(select(Appointment).filter_by(id=holiday.id)).one()
    auckland = ZoneInfo("Pacific/Auckland")
    assert (row.start.astimezone(auckland), row.end.astimezone(auckland)) == (
        datetime(2030, 12, 20, tzinfo=auckland), datetime(2030, 12, 21, tzinfo=auckland)
    )
