"""Series in the calendar: every view shows each occurrence in its place, with the exceptions
in and the excluded dates out, in the viewer's zone; the agenda merges them with single
appointments; the overlap warning sees them; and a view costs the same queries with 1 series or
500, and the same work for a series begun ten years ago."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import insert

from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.occurrences import clashing, instances_between, parse_stamp, past, upcoming
from tests.scheduling.test_calendar_views import QueryCounter, add_appointments, cell
from tests.support.browser import page
from tests.support.factories import make_appointment, make_user
from tests.support.queries import count_appointments
from tests.support.zones import BERLIN, NEW_YORK, UTC

HOUR = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def weekly(user, rule="FREQ=WEEKLY", start=None, title="Team meeting", **values) -> Appointment:
    """A weekly series at 09:00 Berlin time, from Monday 23 March 2026 (winter time)."""
    start = start or datetime(2026, 3, 23, 9, tzinfo=BERLIN)
    return make_appointment(
        user, title=title, start=start, end=start + HOUR, rrule=rule,
        series_timezone="Europe/Berlin", **values,
    )


def starts(instances) -> list[datetime]:
    return [instance.start for instance in instances]


def test_a_weekly_series_keeps_its_berlin_time_across_the_clock_change(app, user):
    weekly(user)
    shown = instances_between(user, utc(2026, 3, 23), utc(2026, 4, 7))
    # 09:00 in Berlin: 08:00 UTC in winter, 07:00 UTC from 29 March.
    assert starts(shown) == [utc(2026, 3, 23, 8), utc(2026, 3, 30, 7), utc(2026, 4, 6, 7)]
    assert all(instance.repeating and instance.series_id == shown[0].id for instance in shown)
    assert [i.recurrence_id for i in shown] == starts(shown)


def test_the_month_view_shows_each_occurrence_marked_in_the_viewers_zone(app, user, logged_in):
    series = weekly(user)
    make_appointment(user, title="Dentist", start=utc(2026, 4, 8, 12))
    html = page(logged_in, "/calendar/month/2026/4/")
    mondays = [date(2026, 4, day) for day in (6, 13, 20, 27)]
    for monday in mondays:
        day = cell(html, monday)
        assert "Team meeting" in day and "9:00" in day.replace("09:00", "9:00")
        link = f"/appointments/{series.id}/?occurrence={monday:%Y%m%d}T070000Z"
        assert link.replace("&", "&amp;") in day
        assert "repeat-mark" in day
    dentist = cell(html, date(2026, 4, 8))
    assert "Dentist" in dentist and "repeat-mark" not in dentist
    assert "Team meeting" not in cell(html, date(2026, 4, 7))


def test_a_viewer_in_new_york_sees_the_berlin_meeting_at_their_own_time(app):
    # A series on Berlin's clock, as a New York user's: shown at 03:00 there, 04:00 once Europe changes too.
    other = make_user("other@example.com", timezone="America/New_York")
    start = datetime(2026, 3, 2, 9, tzinfo=BERLIN)
    weekly(other, start=start)
    shown = instances_between(other, utc(2026, 3, 2), utc(2026, 4, 1))
    local = [instance.start.astimezone(NEW_YORK).hour for instance in shown]
    # US clocks move on 8 March, the European ones on 29 March: 3, then 4 for three weeks, then 3.
    assert local == [3, 4, 4, 4, 3]


def test_an_exception_shows_where_it_was_moved_and_hides_the_original(app, user, logged_in):
    series = weekly(user)
    make_appointment(user, title="Team meeting, Tuesday", start=utc(2026, 4, 14, 12),
                     series_id=series.id, recurrence_id=utc(2026, 4, 13, 7))
    db.session.add(ExcludedOccurrence(series_id=series.id, recurrence_id=utc(2026, 4, 20, 7)))
    db.session.commit()
    html = page(logged_in, "/calendar/month/2026/4/")
    assert "Team meeting" not in cell(html, date(2026, 4, 13))
    tuesday = cell(html, date(2026, 4, 14))
    assert "Team meeting, Tuesday" in tuesday and "repeat-mark" in tuesday
    assert "Team meeting" not in cell(html, date(2026, 4, 20))  # deleted
    assert "Team meeting" in cell(html, date(2026, 4, 27))


def test_an_occurrence_moved_out_of_the_window_still_hides_its_original(app, user):
    series = weekly(user)
    make_appointment(user, title="Moved to May", start=utc(2026, 5, 5, 12),
                     series_id=series.id, recurrence_id=utc(2026, 4, 13, 7))
    april = instances_between(user, utc(2026, 4, 13), utc(2026, 4, 14))
    assert april == []
    may = instances_between(user, utc(2026, 5, 5), utc(2026, 5, 6))
    assert [instance.title for instance in may] == ["Moved to May"]


def test_a_series_that_began_ten_years_ago_shows_the_same(app, user):
    weekly(user, start=datetime(2016, 3, 21, 9, tzinfo=BERLIN))
    shown = instances_between(user, utc(2026, 3, 23), utc(2026, 4, 7))
    assert starts(shown) == [utc(2026, 3, 23, 8), utc(2026, 3, 30, 7), utc(2026, 4, 6, 7)]


def test_the_week_and_day_views_place_each_occurrence(app, user, logged_in):
    series = weekly(user, "FREQ=WEEKLY;BYDAY=MO,WE")
    week = page(logged_in, "/calendar/week/2026/4/6/")
    assert week.count(f"/appointments/{series.id}/?occurrence=") == 2 * 2  # grid and phone list
    assert "20260408T070000Z" in week
    day = page(logged_in, "/calendar/day/2026/4/8/")
    assert "Team meeting" in day and "repeat-mark" in day
    assert "Team meeting" not in page(logged_in, "/calendar/day/2026/4/7/")


def test_the_agenda_merges_occurrences_with_single_appointments(app, user, logged_in):
    weekly(user, "FREQ=WEEKLY;COUNT=30")
    for day in (1, 8, 15):
        make_appointment(user, title=f"Single {day}", start=utc(2026, 4, day, 12))
    first = upcoming(user, utc(2026, 3, 30), 5)
    assert [i.title for i in first] == [
        "Team meeting", "Single 1", "Team meeting", "Single 8", "Team meeting"]
    html = page(logged_in, "/calendar/agenda/?start=2026-03-30")
    assert html.index("Single 1") < html.index("Single 8") < html.index("Single 15")
    assert "page=2" in html  # 30 occurrences and 3 appointments: two pages of 25
    second = page(logged_in, "/calendar/agenda/?start=2026-03-30&page=2")
    assert "Single" not in second and second.count("Team meeting") == 29 + 3 - 25
    earlier = past(user, utc(2026, 4, 9), 4)
    assert [i.start for i in earlier] == [
        utc(2026, 4, 8, 12), utc(2026, 4, 6, 7), utc(2026, 4, 1, 12), utc(2026, 3, 30, 7)]


def test_the_agenda_leaves_out_excluded_and_moved_occurrences(app, user):
    series = weekly(user)
    db.session.add(ExcludedOccurrence(series_id=series.id, recurrence_id=utc(2026, 3, 30, 7)))
    make_appointment(user, title="Moved", start=utc(2026, 6, 1, 7),
                     series_id=series.id, recurrence_id=utc(2026, 4, 6, 7))
    shown = upcoming(user, utc(2026, 3, 24), 3)
    assert starts(shown) == [utc(2026, 4, 13, 7), utc(2026, 4, 20, 7), utc(2026, 4, 27, 7)]
    before = past(user, utc(2026, 4, 14), 2)
    assert starts(before) == [utc(2026, 4, 13, 7), utc(2026, 3, 23, 8)]


def test_the_overlap_warning_sees_occurrences(app, user, logged_in):
    series = weekly(user)
    found = clashing(user, utc(2026, 4, 13, 7, 30), utc(2026, 4, 13, 9), False, BERLIN)
    assert [(i.title, i.start) for i in found] == [("Team meeting", utc(2026, 4, 13, 7))]
    assert clashing(user, utc(2026, 4, 14, 7), utc(2026, 4, 14, 8), False, BERLIN) == []
    assert clashing(user, utc(2026, 4, 13, 7), utc(2026, 4, 13, 8), False, BERLIN,
                    excluding=series) == []
    response = logged_in.submit("/appointments/create/", {
        "title": "Lunch", "start": "2026-04-13T09:30", "end": "2026-04-13T10:30",
        "location": "", "description": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="overlap-warning"' in html
    assert f"/appointments/{series.id}/?occurrence=20260413T070000Z" in html
    assert count_appointments() == 1


def test_an_occurrence_stamp_reads_back_and_nonsense_is_none(app):
    assert parse_stamp("20260413T070000Z") == utc(2026, 4, 13, 7)
    assert parse_stamp("2026-04-13") is None and parse_stamp("20261313T070000Z") is None


def add_series(owner, count: int) -> None:
    """``count`` weekly series with 5 exceptions each, half of them begun ten years earlier."""
    rows = []
    for i in range(count):
        begun = datetime(2016 if i % 2 else 2026, 4, 27, 8, tzinfo=UTC) + timedelta(hours=i % 10)
        rows.append({"owner_id": owner.id, "title": f"Series {i}", "start": begun,
                     "end": begun + HOUR, "all_day": False, "location": "", "description": "",
                     "rrule": "FREQ=WEEKLY", "series_timezone": "Europe/Berlin",
                     "created": begun, "modified": begun})
    db.session.execute(insert(Appointment), rows)
    series = db.session.query(Appointment).filter(Appointment.rrule.is_not(None)).all()
    exceptions = []
    for one in series:
        for week in range(5):
            original = one.start.replace(year=2026, month=5, day=4) + timedelta(weeks=week)
            exceptions.append({
                "owner_id": owner.id, "title": f"{one.title} moved", "start": original + HOUR,
                "end": original + 2 * HOUR, "all_day": False, "location": "",
                "description": "", "series_id": one.id, "recurrence_id": original,
                "created": original, "modified": original})
    db.session.execute(insert(Appointment), exceptions)
    db.session.commit()


@pytest.mark.parametrize("count", [1, 500])
def test_each_view_runs_the_same_queries_with_1_or_500_series(logged_in, user, count):
    add_appointments(user, 100)
    add_series(user, count)
    # A span is one query; the open-ended agenda, two (its rows, then what they replace).
    urls = {"/calendar/month/2026/5/": 1, "/calendar/week/2026/5/4/": 1,
            "/calendar/day/2026/5/4/": 1, "/calendar/agenda/?start=2026-05-04": 2}
    for url, expected in urls.items():
        with QueryCounter(db.engine) as counter:
            html = page(logged_in, url)
        assert len(counter.statements) <= 2 + expected, (url, counter.statements)
        appointment_queries = [s for s in counter.statements if "FROM appointment" in s]
        assert len(appointment_queries) == expected, (url, appointment_queries)
        # The 10:00 occurrence of the first series, moved to 11:00; the month shows 3 a day.
        assert "repeat-mark" in html and "Series 0 moved" in html or url.startswith("/calendar/m")
    day = page(logged_in, "/calendar/day/2026/5/4/")
    assert day.count("repeat-mark") == count  # the time grid (a phone keeps it)
    assert day.count("Series 0 moved") == 1 and "Series 0<" not in day
