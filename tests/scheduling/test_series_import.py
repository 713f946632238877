"""Importing repeating events: kept as series with their rule, the occurrences they leave out
(EXDATE) or add (RDATE) and their changed occurrences (RECURRENCE-ID, in whatever order the
file has them); Outlook's zone names; importing the same file again updates what it made; and
rules sched refuses are refused lines of the preview, nothing stored."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.occurrences import instances_between
from tests.scheduling.test_ical import confirm, ics, upload
from tests.scheduling.test_series_ical import expand_with_vobject
from tests.support.queries import count_appointments
from tests.support.zones import BERLIN, UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


# A change that comes before its series, a deleted Monday, an added Saturday.
MEETING = (
    "UID:meeting-1@example.com\nDTSTAMP:20260301T000000Z\nSUMMARY:Team meeting\\, Tuesday\n"
    "RECURRENCE-ID;TZID=Europe/Berlin:20260413T090000\n"
    "DTSTART;TZID=Europe/Berlin:20260414T140000\nDTEND;TZID=Europe/Berlin:20260414T150000",
    "UID:meeting-1@example.com\nDTSTAMP:20260301T000000Z\nSUMMARY:Team meeting\n"
    "DTSTART;TZID=Europe/Berlin:20260323T090000\nDTEND;TZID=Europe/Berlin:20260323T100000\n"
    "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20260629T070000Z\n"
    "EXDATE;TZID=Europe/Berlin:20260420T090000\nRDATE;TZID=Europe/Berlin:20260425T090000",
)


# Europe/Berlin as calendar programs write it, for a parser that reads zones only from the file.
BERLIN_ZONE = (
    "BEGIN:VTIMEZONE\nTZID:Europe/Berlin\n"
    "BEGIN:DAYLIGHT\nTZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nTZNAME:CEST\n"
    "DTSTART:19700329T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\nEND:DAYLIGHT\n"
    "BEGIN:STANDARD\nTZOFFSETFROM:+0200\nTZOFFSETTO:+0100\nTZNAME:CET\n"
    "DTSTART:19701025T030000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\nEND:STANDARD\n"
    "END:VTIMEZONE\n"
)


def imported(browser, data: bytes):
    preview = upload(browser, data)
    assert preview.status_code == 200, preview.get_data(as_text=True)
    return preview.get_data(as_text=True), confirm(browser, preview.get_data(as_text=True))


def series_rows() -> list[Appointment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Appointment).where(Appointment.rrule.is_not(None))))


def test_a_repeating_event_is_kept_as_a_series_with_its_changes(logged_in, user):
    preview, response = imported(logged_in, ics(*MEETING))
    assert "Every week on Monday, until" in preview and "1 changed occurrence" in preview
    assert "1 occurrence left out" in preview
    assert "1 appointment added." in response.get_data(as_text=True)
    (series,) = series_rows()
    assert series.rrule == "FREQ=WEEKLY;BYDAY=MO;UNTIL=20260629T070000Z"
    assert series.series_timezone == "Europe/Berlin" and series.ical_uid == "meeting-1@example.com"
    excluded = db.session.scalars(select(ExcludedOccurrence)).all()
    assert [e.recurrence_id for e in excluded] == [utc(2026, 4, 20, 7)]
    april = [(i.title, i.start) for i in instances_between(user, utc(2026, 4, 1), utc(2026, 5, 1))]
    assert april == [
        ("Team meeting", utc(2026, 4, 6, 7)),
        ("Team meeting, Tuesday", utc(2026, 4, 14, 12)),
        ("Team meeting", utc(2026, 4, 25, 7)),  # the added Saturday
        ("Team meeting", utc(2026, 4, 27, 7)),
    ]


def test_what_sched_shows_of_an_imported_file_is_what_another_parser_reads(logged_in, user):
    data = ics(*MEETING, "UID:yoga@example.com\nDTSTAMP:20260301T000000Z\nSUMMARY:Yoga\nDTSTART;VALUE=DATE:20260301\n"
               "DTEND;VALUE=DATE:20260302\nRRULE:FREQ=MONTHLY;BYDAY=1SU;COUNT=6\n"
               "EXDATE;VALUE=DATE:20260503", extra=BERLIN_ZONE)
    imported(logged_in, data)
    span = (utc(2026, 1, 1), utc(2027, 1, 1))
    theirs = expand_with_vobject(data.decode(), *span)
    ours = sorted(
        (i.title, i.start.astimezone(BERLIN).date(), i.end.astimezone(BERLIN).date()
         + timedelta(days=1)) if i.all_day else (i.title, i.start, i.end)
        for i in instances_between(user, *span)
    )
    assert ours == theirs
    assert len([t for t in ours if t[0] == "Yoga"]) == 5


def test_importing_the_same_file_again_updates_what_it_made(logged_in, user):
    imported(logged_in, ics(*MEETING))
    changed = ics(MEETING[0], MEETING[1].replace("SUMMARY:Team meeting", "SUMMARY:Stand-up")
                  .replace("EXDATE;TZID=Europe/Berlin:20260420T090000\n", ""))
    preview, response = imported(logged_in, changed)
    assert "Imported before: it will be updated" in preview
    assert "1 appointment imported before was updated." in response.get_data(as_text=True)
    (series,) = series_rows()
    assert series.title == "Stand-up" and count_appointments() == 3  # series, change, RDATE
    assert db.session.scalars(select(ExcludedOccurrence)).all() == []
    titles = {i.title for i in instances_between(user, utc(2026, 4, 20), utc(2026, 4, 21))}
    assert titles == {"Stand-up"}  # the Monday is back


def test_importing_an_export_of_sched_updates_the_appointments_in_place(logged_in, user):
    imported(logged_in, ics(*MEETING))
    (series,) = series_rows()
    exported = logged_in.get(f"/appointments/{series.id}/ics").get_data()
    again = exported.replace(b"SUMMARY:Team meeting\r\n", b"SUMMARY:Renamed\r\n")
    _, response = imported(logged_in, again)
    assert "updated" in response.get_data(as_text=True)
    (after,) = series_rows()
    assert after.id == series.id and after.title == "Renamed"
    shown = instances_between(user, utc(2026, 4, 1), utc(2026, 5, 1))
    # The added Saturday is an occurrence too, with the series' title.
    assert [i.title for i in shown] == ["Renamed", "Team meeting, Tuesday", "Renamed", "Renamed"]


def test_outlook_zone_names_and_a_first_occurrence_with_its_own_recurrence_id(logged_in, user):
    outlook = (
        "UID:040000008200E00074C5B7101A82E008\nSUMMARY:Planning\n"
        "RECURRENCE-ID;TZID=W. Europe Standard Time:20260302T100000\n"
        "DTSTART;TZID=W. Europe Standard Time:20260302T100000\n"
        "DTEND;TZID=W. Europe Standard Time:20260302T110000\n"
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"
    )
    imported(logged_in, ics(outlook))
    (series,) = series_rows()
    assert series.series_timezone == "Europe/Berlin" and series.rrule == "FREQ=WEEKLY;BYDAY=MO;COUNT=4"
    starts = [i.start for i in instances_between(user, utc(2026, 3, 1), utc(2026, 4, 1))]
    assert starts == [utc(2026, 3, 2, 9), utc(2026, 3, 9, 9), utc(2026, 3, 16, 9),
                      utc(2026, 3, 23, 9)]


def test_a_cancelled_occurrence_is_left_out(logged_in, user):
    cancelled = ("UID:meeting-1@example.com\nSUMMARY:Team meeting\nSTATUS:CANCELLED\n"
                 "RECURRENCE-ID;TZID=Europe/Berlin:20260406T090000\n"
                 "DTSTART;TZID=Europe/Berlin:20260406T090000")
    imported(logged_in, ics(MEETING[1], cancelled))
    excluded = {e.recurrence_id for e in db.session.scalars(select(ExcludedOccurrence))}
    assert excluded == {utc(2026, 4, 6, 7), utc(2026, 4, 20, 7)}


@pytest.mark.parametrize(
    "rule, problem",
    [
        ("FREQ=SECONDLY", "can repeat daily at most"),
        ("FREQ=MINUTELY;INTERVAL=5", "can repeat daily at most"),
        ("FREQ=HOURLY", "can repeat daily at most"),
        ("FREQ=DAILY;INTERVAL=0", "Repeat every 1 to 1000"),
        ("FREQ=DAILY;COUNT=5000", "Repeat 1 to 1000 times"),
        ("FREQ=WEEKLY;BYDAY=XX", "cannot be read"),
        ("FREQ=DAILY;UNTIL=20200101T000000Z", "must not end before it starts"),
        ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "makes no appointment"),
        ("FREQ=DAILY;BYMONTHDAY=1,2", "cannot be limited to days of the month"),
        ("FREQ=DAILY;X-NAME=" + "A" * 1000, "1000 characters long at most"),
    ],
)
def test_a_rule_sched_refuses_is_a_refused_line_and_nothing_is_stored(logged_in, rule, problem):
    good = "UID:ok@example.com\nSUMMARY:Fine\nDTSTART:20260302T100000Z\nRRULE:FREQ=WEEKLY"
    bad = f"UID:bad@example.com\nSUMMARY:Refused\nDTSTART:20260302T100000Z\nRRULE:{rule}"
    response = upload(logged_in, ics(good, bad))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    skipped = html.split('id="import-skipped"', 1)[1]
    assert "Refused" in skipped and problem in skipped
    assert count_appointments() == 0
    confirm(logged_in, html)
    assert [row.title for row in series_rows()] == ["Fine"]
