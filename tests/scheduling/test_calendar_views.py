"""The calendar pages, through HTTP: what each view shows, in the user's zone and language."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import event, insert

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.browser import page
from tests.support.factories import make_appointment, make_user
from tests.support.zones import BERLIN, UTC


def cell(html: str, day: date) -> str:
    """The month view's cell of a day: from its "new appointment" link to the next cell."""
    marker = f'data-create-url="/appointments/create/?start={day.isoformat()}T09:00"'
    start = html.index(marker)
    return html[start : html.find("</td>", start)]


def headings(html: str) -> list[str]:
    return re.findall(r'<th scope="col" class="text-center"><abbr title="([^"]+)"', html)


@pytest.mark.parametrize(
    "url", ["/calendar/", "/calendar/month/2026/5/", "/calendar/week/2026/5/4/",
            "/calendar/day/2026/5/4/", "/calendar/agenda/"],
)
def test_calendar_needs_login(client, url):
    response = client.get(url)
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_calendar_opens_on_the_current_month(logged_in):
    response = logged_in.get("/calendar/")
    today = datetime.now(BERLIN).date()
    assert response.headers["Location"] == f"/calendar/month/{today.year}/{today.month}/"


def test_month_view_lists_appointments_with_times_in_order(logged_in, user):
    make_appointment(user, title="Late", start=datetime(2026, 5, 6, 15, tzinfo=UTC))
    make_appointment(user, title="Early", start=datetime(2026, 5, 6, 7, tzinfo=UTC))
    make_appointment(make_user(), title="Not mine", start=datetime(2026, 5, 6, 9, tzinfo=UTC))
    html = page(logged_in, "/calendar/month/2026/5/")
    day = cell(html, date(2026, 5, 6))
    assert day.index("Early") < day.index("Late")
    assert "9:00\u202fAM</span> Early" in day  # 07:00 UTC is 09:00 in Berlin
    assert "Not mine" not in html
    assert "May 2026" in html


def test_month_view_marks_other_months_and_today(logged_in):
    today = datetime.now(BERLIN).date()
    html = page(logged_in, f"/calendar/month/{today.year}/{today.month}/")
    today_cell = re.search(r'<td class="calendar-day[^"]*"\s+data-create-url="[^"]*'
                           + today.isoformat() + r'T09:00"\s+aria-current="date"', html)
    assert today_cell and "today" in today_cell.group(0)
    may = page(logged_in, "/calendar/month/2026/5/")
    assert re.search(r'class="calendar-day other-month"\s+data-create-url="[^"]*2026-04-27T09:00"', may)
    assert re.search(r'class="calendar-day"\s+data-create-url="[^"]*2026-05-01T09:00"', may)


def test_month_view_says_how_many_more_when_a_day_overflows(logged_in, user):
    for hour in range(8, 13):
        make_appointment(user, title=f"Busy {hour}", start=datetime(2026, 5, 6, hour, tzinfo=UTC))
    day = cell(page(logged_in, "/calendar/month/2026/5/"), date(2026, 5, 6))
    assert day.count('<a class="entry') == 3
    assert "+2 more" in day and 'href="/calendar/day/2026/5/6/"' in day


def test_multi_day_and_all_day_appointments_show_on_every_day(logged_in, user):
    make_appointment(user, title="Trip", start=datetime(2026, 5, 5, 8, tzinfo=UTC),
                     end=datetime(2026, 5, 7, 8, tzinfo=UTC))
    html = page(logged_in, "/calendar/month/2026/5/")
    shown = [d for d in range(3, 10) if "Trip" in cell(html, date(2026, 5, d))]
    assert shown == [5, 6, 7]
    assert "10:00\u202fAM →" in cell(html, date(2026, 5, 5))
    assert "→ 10:00\u202fAM" in cell(html, date(2026, 5, 7))


def test_week_starts_on_sunday_in_the_us_and_monday_in_germany(app, browser):
    make_user("us@example.com", timezone="America/New_York", locale="en")
    make_user("de@example.com", timezone="Europe/Berlin", locale="de")
    browser.login("us@example.com")
    us = page(browser, "/calendar/month/2026/5/")
    assert headings(us)[0] == "Sunday"
    browser.logout()
    browser.login("de@example.com")
    de = page(browser, "/calendar/month/2026/5/")
    assert headings(de)[0] == "Montag" and "Mai 2026" in de


def test_week_view_places_overlaps_side_by_side(logged_in, user):
    first = make_appointment(user, title="First", start=datetime(2026, 5, 6, 7, tzinfo=UTC),
                             end=datetime(2026, 5, 6, 9, tzinfo=UTC))
    second = make_appointment(user, title="Second", start=datetime(2026, 5, 6, 8, tzinfo=UTC),
                              end=datetime(2026, 5, 6, 10, tzinfo=UTC))
    html = page(logged_in, "/calendar/week/2026/5/6/")
    # 09:00-11:00 Berlin: quarter-hour slot 36, 8 slots high; half the width each.
    assert re.search(r'class="event t36 h8 c0of2"\s+href="/appointments/%d/"' % first.id, html)
    assert re.search(r'class="event t40 h8 c1of2"\s+href="/appointments/%d/"' % second.id, html)
    assert re.search(r'title="Monday">Mon</abbr> 4', html)
    assert re.search(r'title="Sunday">Sun</abbr> 10', html)


def test_day_view_shows_all_day_row_and_time_grid(logged_in, user):
    make_appointment(user, title="Holiday", all_day=True, start=datetime(2026, 5, 5, 22, tzinfo=UTC),
                     end=datetime(2026, 5, 5, 22, tzinfo=UTC))
    make_appointment(user, title="Lunch", start=datetime(2026, 5, 6, 10, tzinfo=UTC))
    html = page(logged_in, "/calendar/day/2026/5/6/")
    all_day_row = html[html.index('class="all-day-row"') : html.index("</thead>")]
    assert "Holiday" in all_day_row and "Lunch" not in all_day_row
    assert re.search(r'class="event t48 h4 c0of1"', html)  # 12:00 Berlin
    assert "Wednesday, May 6, 2026" in html


@pytest.mark.parametrize(
    ("zone", "day", "start_utc", "label"),
    [
        # Berlin, the morning after clocks went forward: 07:00 UTC is 09:00 CEST.
        ("Europe/Berlin", date(2026, 3, 29), datetime(2026, 3, 29, 7, tzinfo=UTC), "9:00"),
        # Berlin, the day before: 08:00 UTC is 09:00 CET.
        ("Europe/Berlin", date(2026, 3, 28), datetime(2026, 3, 28, 8, tzinfo=UTC), "9:00"),
        # New York, the day clocks went back: 14:00 UTC is 09:00 EST.
        ("America/New_York", date(2026, 11, 1), datetime(2026, 11, 1, 14, tzinfo=UTC), "9:00"),
        # New York, the day before: 13:00 UTC is 09:00 EDT.
        ("America/New_York", date(2026, 10, 31), datetime(2026, 10, 31, 13, tzinfo=UTC), "9:00"),
    ],
)
def test_appointments_across_clock_changes_show_at_local_times(app, browser, zone, day, start_utc, label):
    owner = make_user(timezone=zone)
    make_appointment(owner, title="Standup", start=start_utc, end=start_utc + timedelta(minutes=15))
    browser.login(owner.email)
    html = page(browser, f"/calendar/day/{day.year}/{day.month}/{day.day}/")
    assert re.search(r'class="event t36 h1 c0of1"', html)
    assert f"{label}\u202fAM–9:15\u202fAM" in html


def test_all_day_appointment_for_a_user_far_from_utc(app, browser):
    owner = make_user(timezone="Pacific/Kiritimati")  # UTC+14
    browser.login(owner.email)
    browser.submit("/appointments/create/", {
        "title": "Island day", "start": "2026-05-04T00:00", "end": "2026-05-04T00:00",
        "all_day": "y", "location": "", "description": "",
    })
    html = page(browser, "/calendar/month/2026/5/")
    assert "Island day" in cell(html, date(2026, 5, 4))
    assert "Island day" not in cell(html, date(2026, 5, 3))
    assert "Island day" not in cell(html, date(2026, 5, 5))


def test_agenda_lists_upcoming_by_day_and_pages(logged_in, user, monkeypatch):
    from app.scheduling.views import calendar as views

    monkeypatch.setattr(views, "AGENDA_PER_PAGE", 2)
    for day in (4, 5, 6):
        make_appointment(user, title=f"Item {day}", start=datetime(2026, 5, day, 8, tzinfo=UTC))
    make_appointment(user, title="Past item", start=datetime(2026, 4, 20, 8, tzinfo=UTC))
    first = page(logged_in, "/calendar/agenda/?start=2026-05-01")
    assert "Item 4" in first and "Item 5" in first and "Item 6" not in first
    assert "Past item" not in first and "Monday, May 4, 2026" in first
    assert "page=2" in first
    second = page(logged_in, "/calendar/agenda/?start=2026-05-01&page=2")
    assert "Item 6" in second and "Item 4" not in second
    past = page(logged_in, "/calendar/agenda/?start=2026-05-01&past=1")
    assert "Past item" in past and "Item 4" not in past


def test_every_view_switches_keeping_the_date_and_moves_in_time(logged_in):
    html = page(logged_in, "/calendar/week/2026/5/6/")
    assert 'href="/calendar/month/2026/5/"' in html
    assert 'href="/calendar/day/2026/5/6/"' in html
    assert 'href="/calendar/agenda/?start=2026-05-06"' in html
    assert 'href="/calendar/week/2026/4/29/" rel="prev"' in html
    assert 'href="/calendar/week/2026/5/13/" rel="next"' in html
    month = page(logged_in, "/calendar/month/2026/12/")
    assert 'href="/calendar/month/2027/1/" rel="next"' in month


def test_jump_to_a_date(logged_in):
    response = logged_in.get("/calendar/jump?view=day&date=2026-07-14")
    assert response.headers["Location"] == "/calendar/day/2026/7/14/"
    response = logged_in.get("/calendar/jump?view=nonsense&date=2026-07-14")
    assert response.headers["Location"] == "/calendar/month/2026/7/"


@pytest.mark.parametrize(
    "url", ["/calendar/month/2026/13/", "/calendar/month/1800/1/", "/calendar/day/2026/2/30/",
            "/calendar/week/2026/0/1/", "/calendar/agenda/?start=9999-01-01",
            "/calendar/agenda/?page=0", "/calendar/jump?view=month&date=0001-01-01"],
)
def test_impossible_dates_answer_404(logged_in, url):
    assert logged_in.get(url).status_code == 404


class QueryCounter:
    def __init__(self, engine):
        self.engine, self.statements = engine, []

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self.record)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self.record)

    def record(self, conn, cursor, statement, *args):
        self.statements.append(statement)


def add_appointments(owner, count: int) -> None:
    """Insert appointments a few hours apart, spread around May 2026, in one statement."""
    start = datetime(2026, 5, 1, tzinfo=UTC) - timedelta(hours=3 * count // 2)
    rows = [
        {"owner_id": owner.id, "title": f"Bulk {i}", "start": start + timedelta(hours=3 * i),
         "end": start + timedelta(hours=3 * i + 1), "all_day": False, "location": "",
         "description": "", "created": start, "modified": start}
        for i in range(count)
    ]
    db.session.execute(insert(Appointment), rows)
    owner.longest_appointment_seconds = 3600
    db.session.commit()


@pytest.mark.parametrize("count", [10, 10_000])
def test_each_view_runs_a_fixed_number_of_queries(logged_in, user, count):
    add_appointments(user, count)
    urls = ["/calendar/month/2026/5/", "/calendar/week/2026/5/4/", "/calendar/day/2026/5/1/",
            "/calendar/agenda/?start=2026-05-01"]
    for url in urls:
        with QueryCounter(db.engine) as counter:
            html = page(logged_in, url)
        assert len(counter.statements) <= 3, (url, counter.statements)
        appointment_queries = [s for s in counter.statements if "FROM appointment" in s]
        assert len(appointment_queries) == 1
        assert "Bulk" in html or count == 10


def test_each_view_offers_its_range_as_ics(logged_in, user):
    make_appointment(user, title="In May", start=datetime(2026, 5, 6, 8, tzinfo=UTC))
    html = page(logged_in, "/calendar/month/2026/5/")
    link = re.search(r'href="(/calendar/export\.ics\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert link == "/calendar/export.ics?from=2026-05-01&to=2026-05-31"
    response = logged_in.get(link)
    assert response.mimetype == "text/calendar" and b"SUMMARY:In May" in response.data
    week = page(logged_in, "/calendar/week/2026/5/6/")
    assert "/calendar/export.ics?from=2026-05-04&amp;to=2026-05-10" in week
