"""Importing what the file means (issue 19): a first occurrence moved, left out or cancelled;
Google's files of changed occurrences alone; time zone definitions with a bad value where
none is needed; events without a title or with a long one; tasks, journal entries, replies
and cancellations listed as skipped; X-WR-TIMEZONE for floating times; alarms as reminders.
Each through the upload, preview and confirm pages, with a small file of its own."""

from __future__ import annotations

import html as html_lib
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.occurrences import instances_between
from tests.scheduling.test_ical import confirm, field_errors, ics, upload
from tests.support.queries import count_appointments
from tests.support.zones import UTC


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def preview_of(browser, data: bytes) -> str:
    response = upload(browser, data)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_data(as_text=True)


def imported(browser, data: bytes) -> tuple[str, str]:
    """Upload the file and confirm its preview; return both pages, their text unescaped."""
    preview = preview_of(browser, data)
    done = confirm(browser, preview)
    assert done.status_code == 200
    return html_lib.unescape(preview), html_lib.unescape(done.get_data(as_text=True))


def section(html: str, table_id: str) -> str:
    """The preview's table of events to add (import-events) or skipped (import-skipped)."""
    parts = html.split(f'id="{table_id}"', 1)
    assert len(parts) == 2, f"no table {table_id}"
    return html_lib.unescape(parts[1].split("</table>", 1)[0])


def rows() -> list[Appointment]:
    db.session.expire_all()
    return list(db.session.scalars(select(Appointment).order_by(Appointment.start)))


MONTH_ENTRY = re.compile(
    r'<a class="entry[^"]*" href="([^"]+)"><span class="entry-time">([^<]*)</span> ([^<]*)'
)


def month_entries(browser, year: int, month: int) -> list[tuple[str, str, str]]:
    """What the month view lists: (link, time, title) of each entry."""
    page = browser.get(f"/calendar/month/{year}/{month}/").get_data(as_text=True)
    return [
        (href, html_lib.unescape(clock), html_lib.unescape(title).strip())
        for href, clock, title in MONTH_ENTRY.findall(page)
    ]


# ----------------------------------------------------------------------------------------------
# 1. The first occurrence of a series, moved, left out or cancelled
# ----------------------------------------------------------------------------------------------

# Weekly at 10:00 in Berlin, three times from Monday 2 March 2026 (09:00 UTC in winter).
WEEKLY = (
    "UID:weekly@example.com\nSUMMARY:Weekly review\n"
    "DTSTART;TZID=Europe/Berlin:20260302T100000\nDTEND;TZID=Europe/Berlin:20260302T110000\n"
    "RRULE:FREQ=WEEKLY;COUNT=3"
)
FIRST = "RECURRENCE-ID;TZID=Europe/Berlin:20260302T100000"


def test_a_first_occurrence_moved_by_its_change_is_at_the_new_time(logged_in, user):
    moved = (
        f"UID:weekly@example.com\nSUMMARY:Weekly review, later\n{FIRST}\n"
        "DTSTART;TZID=Europe/Berlin:20260302T150000\nDTEND;TZID=Europe/Berlin:20260302T160000"
    )
    preview, done = imported(logged_in, ics(moved, WEEKLY))  # the change first, as some write
    assert "1 changed occurrence" in preview and "1 appointment added." in done

    series, change = sorted(rows(), key=lambda row: row.series_id is not None)
    assert series.rrule == "FREQ=WEEKLY;COUNT=3"  # the series keeps its rule and its start
    assert (series.start, change.series_id, change.recurrence_id) == (
        utc(2026, 3, 2, 9),
        series.id,
        utc(2026, 3, 2, 9),
    )
    shown = [(i.title, i.start) for i in instances_between(user, utc(2026, 3, 1), utc(2026, 4, 1))]
    assert shown == [
        ("Weekly review, later", utc(2026, 3, 2, 14)),  # 15:00 in Berlin
        ("Weekly review", utc(2026, 3, 9, 9)),
        ("Weekly review", utc(2026, 3, 16, 9)),
    ]
    entries = month_entries(logged_in, 2026, 3)
    assert (f"/appointments/{change.id}/", "3:00\u202fPM", "Weekly review, later") in entries
    assert not [entry for entry in entries if "occurrence=20260302T090000Z" in entry[0]]
    assert len(entries) == 3


CANCELLED_FIRST = (
    f"UID:weekly@example.com\nSUMMARY:Weekly review\nSTATUS:CANCELLED\n{FIRST}\n"
    "DTSTART;TZID=Europe/Berlin:20260302T100000"
)


@pytest.mark.parametrize(
    "data",
    [ics(f"{WEEKLY}\nEXDATE;TZID=Europe/Berlin:20260302T100000"), ics(WEEKLY, CANCELLED_FIRST)],
    ids=["exdate", "cancelled-change"],
)
def test_a_first_occurrence_left_out_or_cancelled_does_not_appear(logged_in, user, data):
    preview, _ = imported(logged_in, data)
    assert "1 occurrence left out" in preview
    assert 'id="import-skipped"' not in preview  # the cancellation is part of the series
    (series,) = rows()
    excluded = db.session.scalars(select(ExcludedOccurrence)).all()
    assert [(e.series_id, e.recurrence_id) for e in excluded] == [(series.id, utc(2026, 3, 2, 9))]
    starts = [i.start for i in instances_between(user, utc(2026, 3, 1), utc(2026, 4, 1))]
    assert starts == [utc(2026, 3, 9, 9), utc(2026, 3, 16, 9)]
    links = [href for href, _, _ in month_entries(logged_in, 2026, 3)]
    assert len(links) == 2 and not [href for href in links if "20260302T090000Z" in href]


# ----------------------------------------------------------------------------------------------
# 2. Changed occurrences whose series is not in the file (Google's exports)
# ----------------------------------------------------------------------------------------------

GOOGLE_UID = "7kukuqrfedlm2f9t0vn7ej5su8@google.com"


# Two occurrences moved by an hour, one cancelled; their weekly series is not in the file.
GOOGLE_FILE = (
    f"UID:{GOOGLE_UID}\nSUMMARY:Board meeting\nRECURRENCE-ID:20260305T090000Z\n"
    "DTSTART:20260305T100000Z\nDTEND:20260305T110000Z",
    f"UID:{GOOGLE_UID}\nSUMMARY:Board meeting (room 4)\nRECURRENCE-ID:20260312T090000Z\n"
    "DTSTART:20260312T100000Z\nDTEND:20260312T110000Z",
    f"UID:{GOOGLE_UID}\nSUMMARY:Board meeting\nRECURRENCE-ID:20260319T090000Z\n"
    "STATUS:CANCELLED\nDTSTART:20260319T090000Z\nDTEND:20260319T100000Z",
)


def test_changed_occurrences_alone_are_each_an_appointment_at_its_own_time(logged_in, user):
    preview, done = imported(logged_in, ics(*GOOGLE_FILE, extra="METHOD:PUBLISH\n"))
    to_add = section(preview, "import-events")
    assert "2 appointments will be added" in preview
    assert to_add.count("It is one occurrence of a repeating event whose other occurrences") == 2
    assert "It was cancelled." in section(preview, "import-skipped")
    assert "2 appointments added." in done

    first, second = rows()
    assert (first.title, first.start, first.end) == (
        "Board meeting",
        utc(2026, 3, 5, 10),
        utc(2026, 3, 5, 11),
    )
    assert (second.title, second.start) == ("Board meeting (room 4)", utc(2026, 3, 12, 10))
    assert first.rrule is None and first.series_id is None and first.recurrence_id is None
    # One UID for all: each is kept under it and the occurrence it replaces, unique per owner.
    assert first.ical_uid == f"20260305T090000Z/{GOOGLE_UID}"
    assert second.ical_uid == f"20260312T090000Z/{GOOGLE_UID}"


def test_importing_changed_occurrences_again_updates_them(logged_in, user):
    imported(logged_in, ics(*GOOGLE_FILE))
    before = {row.ical_uid: row.id for row in rows()}
    again = ics(
        GOOGLE_FILE[0].replace("SUMMARY:Board meeting", "SUMMARY:Board (moved)"), *GOOGLE_FILE[1:]
    )
    preview, done = imported(logged_in, again)
    assert preview.count("Imported before: it will be updated, not added twice.") == 2
    assert "2 appointments imported before were updated." in done
    after = rows()
    assert {row.ical_uid: row.id for row in after} == before and count_appointments() == 2
    assert after[0].title == "Board (moved)"


def test_importing_a_single_event_again_updates_it(logged_in, user):
    event = "UID:dentist@example.com\nSUMMARY:Dentist\nDTSTART:20260310T080000Z"
    imported(logged_in, ics(event))
    _, done = imported(logged_in, ics(event.replace("T08", "T09")))
    assert "1 appointment imported before was updated." in done
    (dentist,) = rows()
    assert dentist.start == utc(2026, 3, 10, 9) and dentist.ical_uid == "dentist@example.com"


# ----------------------------------------------------------------------------------------------
# 3. Time zone definitions with a value that cannot be read
# ----------------------------------------------------------------------------------------------


def amsterdam(
    tzid: str,
    first: str = "TZOFFSETFROM:+5328\nTZOFFSETTO:+0119",
    standard: str = "TZOFFSETFROM:+0200\nTZOFFSETTO:+0100",
) -> str:
    """Amsterdam as iCloud writes it, with an 1893 rule whose offset (+5328) is no offset."""
    return (
        f"BEGIN:VTIMEZONE\nTZID:{tzid}\n"
        f"BEGIN:STANDARD\nDTSTART:18930501T000000\n{first}\nTZNAME:AMT\nEND:STANDARD\n"
        "BEGIN:DAYLIGHT\nDTSTART:19810329T020000\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\n"
        "TZOFFSETFROM:+0100\nTZOFFSETTO:+0200\nTZNAME:CEST\nEND:DAYLIGHT\n"
        f"BEGIN:STANDARD\nDTSTART:19961027T030000\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\n"
        f"{standard}\nTZNAME:CET\nEND:STANDARD\nEND:VTIMEZONE\n"
    )


def at_ten(tzid: str, day: str = "20260302", title: str = "Concert") -> str:
    return f"UID:{title}-{day}@example.com\nSUMMARY:{title}\nDTSTART;TZID={tzid}:{day}T100000"


def test_a_bad_value_in_an_unused_zone_rule_does_not_spoil_the_file(logged_in, user):
    data = ics(at_ten("Europe/Amsterdam"), extra=amsterdam("Europe/Amsterdam"))
    _, done = imported(logged_in, data)
    assert "1 appointment added." in done
    assert rows()[0].start == utc(2026, 3, 2, 9)  # IANA's Amsterdam, which the name says


def test_a_files_own_zone_drops_its_bad_past_and_names_the_line_when_it_is_needed(logged_in):
    zone = "Amsterdam (iCloud)"
    data = ics(
        at_ten(zone),
        at_ten(zone, "20260715", "Summer"),
        at_ten(zone, "19500302", "Old"),
        extra=amsterdam(zone),
    )
    preview, _ = imported(logged_in, data)
    skipped = section(preview, "import-skipped")
    assert (
        "Old" in skipped
        and (
            f"Its time zone “{zone}” cannot be used: the line “TZOFFSETFROM:+5328” of the file’s "
            "definition of it is not valid."
        )
        in skipped
    )
    assert [(row.title, row.start) for row in rows()] == [
        ("Concert", utc(2026, 3, 2, 9)),
        ("Summer", utc(2026, 7, 15, 8)),
    ]


def test_a_bad_value_in_a_zone_rule_in_use_names_the_line(logged_in):
    zone = "Office time"
    data = ics(at_ten(zone), extra=amsterdam(zone, standard="TZOFFSETFROM:+0200\nTZOFFSETTO:+2500"))
    preview = html_lib.unescape(preview_of(logged_in, data))
    assert "None of the events in this file can be added." in preview
    assert "the line “TZOFFSETTO:+2500” of the file’s definition" in preview
    assert count_appointments() == 0


@pytest.mark.parametrize(
    ("lines", "problem"),
    [
        ("DTSTART:20260230T100000Z", "The line “DTSTART:20260230T100000Z” is not valid."),
        (
            "DTSTART:20260302T100000Z\nRRULE:FREQ=WEEKLY\nEXDATE:next-week",
            "Its line “EXDATE:next-week” is not valid.",
        ),
        (
            "DTSTART:20260302T100000Z\nRECURRENCE-ID:someday",
            "Its line “RECURRENCE-ID:someday” is not valid.",
        ),
    ],
)
def test_a_bad_value_an_event_needs_is_named_and_nothing_is_stored(logged_in, lines, problem):
    good = "UID:good@example.com\nSUMMARY:Fine\nDTSTART:20260302T100000Z"
    preview = preview_of(logged_in, ics(good, f"UID:bad@example.com\nSUMMARY:Broken\n{lines}"))
    assert problem in section(preview, "import-skipped")
    assert count_appointments() == 0
    confirm(logged_in, preview)
    assert [row.title for row in rows()] == ["Fine"]


# ----------------------------------------------------------------------------------------------
# 4. Titles: none, or too long
# ----------------------------------------------------------------------------------------------


def test_an_event_without_a_title_is_added_with_a_placeholder(logged_in):
    preview, done = imported(
        logged_in, ics("DTSTART:20260302T100000Z", "SUMMARY:  \nDTSTART:20260303T100000Z")
    )
    assert section(preview, "import-events").count("(no title)") == 2
    assert "2 appointments added." in done
    assert [row.title for row in rows()] == ["(no title)", "(no title)"]


def test_a_title_too_long_is_cut_to_fit_with_a_note(logged_in):
    title = "<b>Planning</b> " + "very " * 70 + "long"
    preview = preview_of(logged_in, ics(f"SUMMARY:{title}\nDTSTART:20260302T100000Z"))
    assert "&lt;b&gt;Planning&lt;/b&gt;" in preview and "<b>Planning" not in preview
    note = "Its title was longer than 255 characters: it was cut to fit."
    assert note in section(preview, "import-events")
    confirm(logged_in, preview)
    (stored,) = rows()
    assert len(stored.title) == 255 and stored.title == title[:254].rstrip() + "…"


# ----------------------------------------------------------------------------------------------
# 5. What is no event to add: listed as skipped, with the reason
# ----------------------------------------------------------------------------------------------

TASKS = (
    "BEGIN:VTODO\nUID:task@example.com\nSUMMARY:Buy milk\nDUE:20260302T100000Z\nEND:VTODO\n"
    "BEGIN:VJOURNAL\nUID:note@example.com\nSUMMARY:Minutes of Monday\nDTSTART:20260302\n"
    "END:VJOURNAL\n"
)


def test_tasks_journal_entries_and_cancelled_events_are_listed_as_skipped(logged_in):
    cancelled = "UID:party@example.com\nSUMMARY:Party\nSTATUS:CANCELLED\nDTSTART:20260306T180000Z"
    preview, done = imported(
        logged_in, ics("SUMMARY:Lunch\nDTSTART:20260302T110000Z", cancelled, extra=TASKS)
    )
    skipped = section(preview, "import-skipped")
    assert "3 events will be skipped" in preview
    assert "Buy milk" in skipped and "It is a task, not an event." in skipped
    assert "Minutes of Monday" in skipped and "It is a journal entry, not an event." in skipped
    assert "Party" in skipped and "It was cancelled." in skipped
    assert "1 appointment added." in done and [row.title for row in rows()] == ["Lunch"]


def test_a_file_of_tasks_alone_shows_them_skipped_and_offers_no_button(logged_in):
    preview = preview_of(logged_in, ics(extra=TASKS))
    assert "None of the events in this file can be added." in preview
    assert "It is a task, not an event." in section(preview, "import-skipped")
    assert 'name="payload"' not in preview


@pytest.mark.parametrize(
    ("method", "reason"),
    [
        ("REPLY", "It answers an invitation: it is not an event to add."),
        ("CANCEL", "It was cancelled."),
    ],
)
def test_replies_to_invitations_and_cancellations_are_listed_as_skipped(logged_in, method, reason):
    # Outlook's answer to an invitation, declined.
    event = (
        "UID:040000008200E00074C5B7101A82E0080000000070C9@example.com\n"
        "SUMMARY:Declined: Quarterly review\nDTSTART:20260310T140000Z\n"
        "DTEND:20260310T150000Z\nATTENDEE;PARTSTAT=DECLINED:mailto:kim@example.com"
    )
    preview = preview_of(logged_in, ics(event, extra=f"METHOD:{method}\n"))
    skipped = section(preview, "import-skipped")
    assert "Declined: Quarterly review" in skipped and reason in skipped
    assert 'name="payload"' not in preview and count_appointments() == 0


# ----------------------------------------------------------------------------------------------
# 6. X-WR-TIMEZONE: the calendar's zone for floating times
# ----------------------------------------------------------------------------------------------


def test_floating_times_are_on_the_calendars_own_zone(logged_in):
    events = (
        "UID:call@example.com\nSUMMARY:Call\nDTSTART:20260115T100000\nDTEND:20260115T103000",
        "UID:gym@example.com\nSUMMARY:Gym\nDTSTART:20260113T070000\nRRULE:FREQ=WEEKLY;COUNT=4",
        "UID:off@example.com\nSUMMARY:Day off\nDTSTART;VALUE=DATE:20260116",
        "UID:fixed@example.com\nSUMMARY:Fixed\nDTSTART:20260115T100000Z",
    )
    imported(logged_in, ics(*events, extra="X-WR-TIMEZONE:America/New_York\n"))
    stored = {row.title: row for row in rows()}
    assert stored["Call"].start == utc(2026, 1, 15, 15)  # 10:00 in New York
    assert stored["Call"].end == utc(2026, 1, 15, 15, 30)
    assert stored["Gym"].start == utc(2026, 1, 13, 12)
    assert stored["Gym"].series_timezone == "America/New_York"
    assert stored["Day off"].start == utc(2026, 1, 15, 23)  # a day is my day: Berlin's midnight
    assert stored["Fixed"].start == utc(2026, 1, 15, 10)


def test_an_unknown_x_wr_timezone_leaves_floating_times_on_my_clock(logged_in):
    imported(
        logged_in,
        ics("SUMMARY:Call\nDTSTART:20260115T100000", extra="X-WR-TIMEZONE:Mars/Olympus_Mons\n"),
    )
    assert rows()[0].start == utc(2026, 1, 15, 9)  # 10:00 in Berlin


# ----------------------------------------------------------------------------------------------
# 7. Alarms as reminders
# ----------------------------------------------------------------------------------------------


def alarm(trigger: str) -> str:
    return f"BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:Reminder\n{trigger}\nEND:VALARM"


@pytest.mark.parametrize(
    ("alarms", "minutes"),
    [
        ([alarm("TRIGGER:-PT30M")], 30),
        ([alarm("TRIGGER:-P1D")], 24 * 60),
        ([alarm("TRIGGER:-PT15M")], 10),  # the nearest lead time sched offers
        ([alarm("TRIGGER:-PT20M")], 30),  # as near to 10 as to 30: the earlier reminder
        ([alarm("TRIGGER:-P3W")], 7 * 24 * 60),
        ([alarm("TRIGGER;RELATED=END:-PT90M")], 30),  # the hour's end less 90 minutes
        # The first alarm that rings before the start counts.
        (
            [
                alarm("TRIGGER:PT5M"),
                alarm("TRIGGER;VALUE=DATE-TIME:20260302T080000Z"),
                alarm("TRIGGER:-PT1H"),
                alarm("TRIGGER:-PT10M"),
            ],
            60,
        ),
        ([alarm("TRIGGER;VALUE=DATE-TIME:20260302T080000Z")], None),
        ([alarm("TRIGGER;RELATED=END:-PT30M")], None),  # during the event
        ([alarm("TRIGGER:PT0S")], None),
        ([alarm("TRIGGER:soon")], None),
        ([], None),
    ],
)
def test_the_first_alarm_before_the_start_becomes_the_reminder(logged_in, alarms, minutes):
    event = "\n".join(["SUMMARY:Check-up\nDTSTART:20260302T100000Z\nDURATION:PT1H", *alarms])
    preview, done = imported(logged_in, ics(event))
    assert "1 appointment added." in done
    (stored,) = rows()
    assert stored.reminder_minutes == minutes
    shown = section(preview, "import-events")
    if minutes is None:
        assert stored.remind_at is None and "Reminder e-mail" not in shown
    else:
        assert stored.remind_at == utc(2026, 3, 2, 10) - timedelta(minutes=minutes)
        assert "Reminder e-mail" in shown and " before" in shown


def test_a_series_and_its_changed_occurrence_keep_their_own_reminders(logged_in, user):
    series = f"{WEEKLY}\n{alarm('TRIGGER:-PT30M')}"
    change = (
        f"UID:weekly@example.com\nSUMMARY:Weekly review\n{FIRST}\n"
        "DTSTART;TZID=Europe/Berlin:20260302T120000\n" + alarm("TRIGGER:-PT2H")
    )
    imported(logged_in, ics(series, change))
    stored = {row.series_id is None: row for row in rows()}
    assert stored[True].reminder_minutes == 30 and stored[False].reminder_minutes == 120


# ----------------------------------------------------------------------------------------------
# Bad input
# ----------------------------------------------------------------------------------------------


def test_a_file_that_names_a_file_on_the_server_is_not_read_from_there(logged_in, tmp_path):
    """icalendar opens a file named by text without line breaks; an upload is never a name."""
    path = tmp_path / "server.ics"
    path.write_bytes(ics("SUMMARY:From the server\nDTSTART:20260302T100000Z"))
    response = upload(logged_in, str(path).encode())
    assert response.status_code == 400
    assert "not an iCalendar file" in field_errors(response.get_data(as_text=True), "file")
    assert count_appointments() == 0
