"""Series in iCalendar: one VEVENT with its RRULE and EXDATEs on its zone's clock, one per
exception with its RECURRENCE-ID, the zone defined (VTIMEZONE); and read back by a parser sched
does not use itself (vobject), every occurrence of a year is where the calendar shows it."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import vobject
from icalendar import Calendar

from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.occurrences import instances_between
from tests.support.factories import make_appointment, make_feed_token
from tests.support.zones import BERLIN, UTC

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def series(user, rule: str, start: datetime, length=HOUR, **values) -> Appointment:
    return make_appointment(user, start=start, end=start + length, rrule=rule,
                            series_timezone="Europe/Berlin", **values)


def weekly_with_changes(user) -> Appointment:
    """Mondays at 09:00 Berlin time from 23 March 2026; one moved, one deleted."""
    meeting = series(user, "FREQ=WEEKLY;BYDAY=MO", datetime(2026, 3, 23, 9, tzinfo=BERLIN),
                     title="Team meeting")
    make_appointment(user, title="Team meeting, Tuesday", start=utc(2026, 4, 14, 12),
                     end=utc(2026, 4, 14, 13), series_id=meeting.id,
                     recurrence_id=utc(2026, 4, 13, 7))
    db.session.add(ExcludedOccurrence(series_id=meeting.id, recurrence_id=utc(2026, 4, 20, 7)))
    db.session.commit()
    return meeting


def test_the_file_of_a_series_holds_its_rule_its_changes_and_its_zone(logged_in, user):
    meeting = weekly_with_changes(user)
    response = logged_in.get(f"/appointments/{meeting.id}/ics")
    text = response.get_data(as_text=True)
    calendar = Calendar.from_ical(text)
    master, moved = calendar.events
    assert master.uid == moved.uid
    assert "DTSTART;TZID=Europe/Berlin:20260323T090000" in text
    assert "RRULE:FREQ=WEEKLY;BYDAY=MO" in text
    assert "EXDATE;TZID=Europe/Berlin:20260420T090000" in text
    assert "RECURRENCE-ID;TZID=Europe/Berlin:20260413T090000" in text
    assert "DTSTART;TZID=Europe/Berlin:20260414T140000" in text
    (zone,) = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "Europe/Berlin"
    # The exception's own file is its series'.
    moved_row = db.session.get(Appointment, meeting.id + 1)
    assert moved_row.series_id == meeting.id
    again = logged_in.get(f"/appointments/{moved_row.id}/ics").get_data(as_text=True)
    assert again.count("BEGIN:VEVENT") == 2 and "RRULE:FREQ=WEEKLY;BYDAY=MO" in again


def test_an_all_day_series_travels_as_dates(logged_in, user):
    start = datetime(2026, 2, 28, tzinfo=BERLIN)
    birthday = series(user, "FREQ=YEARLY;UNTIL=20300228", start, length=timedelta(0),
                      all_day=True, title="Birthday")
    db.session.add(ExcludedOccurrence(series_id=birthday.id,
                                      recurrence_id=datetime(2028, 2, 28, tzinfo=BERLIN)))
    db.session.commit()
    text = logged_in.get(f"/appointments/{birthday.id}/ics").get_data(as_text=True)
    assert "DTSTART;VALUE=DATE:20260228" in text and "DTEND;VALUE=DATE:20260301" in text
    assert "RRULE:FREQ=YEARLY;UNTIL=20300228" in text
    assert "EXDATE;VALUE=DATE:20280228" in text


def test_the_range_export_carries_the_series_it_touches_whole(logged_in, user):
    weekly_with_changes(user)
    make_appointment(user, title="Dentist", start=utc(2026, 5, 6, 8))
    text = logged_in.get("/calendar/export.ics?from=2026-05-01&to=2026-05-31").get_data(
        as_text=True)
    summaries = [str(e["SUMMARY"]) for e in Calendar.from_ical(text).events]
    assert sorted(summaries) == ["Dentist", "Team meeting", "Team meeting, Tuesday"]
    assert text.count("BEGIN:VTIMEZONE") == 1


def expand_with_vobject(text: str, start: datetime, end: datetime) -> list[tuple]:
    """Every occurrence in [start, end) by vobject's reading: (title, start, end) in UTC, or
    the local dates of an all-day one."""
    calendar = vobject.readOne(text, validate=True)
    masters, overrides = {}, []
    for event in calendar.vevent_list:
        if hasattr(event, "recurrence_id"):
            overrides.append(event)
        else:
            masters[event.uid.value] = event
    found = []
    for uid, master in masters.items():
        begin, finish = master.dtstart.value, master.dtend.value
        all_day = not isinstance(begin, datetime)
        replaced = {o.recurrence_id.value for o in overrides if o.uid.value == uid}
        rules = master.getrruleset(addRDate=True)
        # A little wider than the span; the exact filter is below.
        low, high = start - timedelta(days=2), end + timedelta(days=2)
        if all_day:
            low, high = low.replace(tzinfo=None), high.replace(tzinfo=None)
        for moment in rules.between(low, high, inc=True) if rules else [begin]:
            if all_day:
                moment = moment.date() if isinstance(moment, datetime) else moment
                found.append((master.summary.value, moment, moment + (finish - begin)))
            elif moment not in replaced:
                found.append((master.summary.value, moment.astimezone(UTC),
                              (moment + (finish - begin)).astimezone(UTC)))
    for event in overrides:
        found.append((event.summary.value, event.dtstart.value.astimezone(UTC),
                      event.dtend.value.astimezone(UTC)))
    return sorted(
        (title, first, last) for title, first, last in found
        if (first if isinstance(first, date) and not isinstance(first, datetime)
            else first.date()) < end.date()
        and (last if not isinstance(last, datetime) else last) >= (
            start.date() if not isinstance(last, datetime) else start)
    )


def test_every_occurrence_of_the_feed_for_a_year_is_where_the_calendar_shows_it(
    client, user, monkeypatch
):
    monkeypatch.setattr("app.scheduling.views.ical.now_utc", lambda: utc(2026, 4, 1, 12))
    weekly_with_changes(user)
    series(user, "FREQ=MONTHLY;BYDAY=-1FR;COUNT=12", datetime(2026, 4, 24, 17, tzinfo=BERLIN),
           title="Last Friday drinks")
    series(user, "FREQ=DAILY;INTERVAL=10;UNTIL=20261001T000000Z",
           datetime(2026, 3, 28, 2, 30, tzinfo=BERLIN), title="Night shift")
    series(user, "FREQ=YEARLY", datetime(2024, 2, 29, tzinfo=BERLIN), length=timedelta(days=1),
           all_day=True, title="Leap day party")  # two days long, each 29 February
    make_appointment(user, title="Dentist", start=utc(2026, 5, 6, 8))
    token = make_feed_token(user)
    text = client.get(f"/calendar/feed/{token}.ics").get_data(as_text=True)
    year = (utc(2026, 4, 1), utc(2027, 4, 1))
    theirs = expand_with_vobject(text, *year)
    ours = sorted(
        (i.title, i.start.astimezone(BERLIN).date(), i.end.astimezone(BERLIN).date() + DAY)
        if i.all_day else (i.title, i.start, i.end)
        for i in instances_between(user, utc(2024, 1, 1), year[1])
        if i.end >= year[0]
    )
    assert theirs == ours
    assert ("Leap day party", date(2028, 2, 29), date(2028, 3, 2)) not in ours  # not this year
    assert len([t for t in ours if t[0] == "Team meeting"]) == 50  # 52 Mondays, one moved, one gone
    assert len([t for t in ours if t[0] == "Last Friday drinks"]) == 12
