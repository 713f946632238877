"""The calendar pages' parts that calendar.js builds on, through HTTP: where the grid opens, the
line of the present moment, the small month, the days the view switcher carries, the counts a
phone shows, the shortcuts and their help."""

from __future__ import annotations

import re
from datetime import datetime

from tests.support.browser import page
from tests.support.factories import make_appointment
from tests.support.zones import BERLIN, UTC


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


def view_links(html: str) -> dict[str, str]:
    switcher = html[html.index('aria-label="Calendar views"') :]
    switcher = switcher[: switcher.index("</nav>")]
    return {label: href for href, label in re.findall(r'href="([^"]+)">(\w+)</a>', switcher)}


def test_every_view_loads_its_script_versioned(logged_in):
    for url in (
        "/calendar/month/2026/5/",
        "/calendar/week/2026/5/6/",
        "/calendar/day/2026/5/6/",
        "/calendar/agenda/?start=2026-05-01",
    ):
        html = page(logged_in, url)
        assert re.search(r'<script src="/static/js/calendar\.js\?v=\w+" defer></script>', html)
        assert "<script>" not in html


def test_the_month_switches_to_today_in_this_month_and_else_the_first(logged_in):
    links = view_links(page(logged_in, "/calendar/month/2026/5/"))
    assert links["Week"] == "/calendar/week/2026/5/1/"
    assert links["Day"] == "/calendar/day/2026/5/1/"
    assert links["Agenda"] == "/calendar/agenda/?start=2026-05-01"
    today = datetime.now(BERLIN).date()
    html = page(logged_in, f"/calendar/month/{today.year}/{today.month}/")
    links = view_links(html)
    assert links["Week"] == f"/calendar/week/{today.year}/{today.month}/{today.day}/"
    assert links["Day"] == f"/calendar/day/{today.year}/{today.month}/{today.day}/"
    assert f'value="{today.isoformat()}"' in html  # the date field too
    # The arrow keys start on that day.
    assert html.count("data-focus-start") == 1
    assert re.search(rf'{today.isoformat()}T09:00"\s+aria-current="date" data-focus-start>', html)


def test_the_grid_opens_at_eight_or_at_the_hour_of_an_earlier_appointment(logged_in, user):
    assert 'data-scroll-slot="32"' in page(logged_in, "/calendar/week/2026/5/4/")
    make_appointment(user, title="Late", start=berlin(6, 20))
    make_appointment(user, title="Early", start=berlin(7, 6, 30))
    assert 'data-scroll-slot="24"' in page(logged_in, "/calendar/week/2026/5/4/")
    assert 'data-scroll-slot="24"' in page(logged_in, "/calendar/day/2026/5/7/")
    assert 'data-scroll-slot="32"' in page(logged_in, "/calendar/day/2026/5/6/")


def test_the_line_of_the_present_moment_is_on_today_only(logged_in):
    now = datetime.now(BERLIN)
    today = now.date()
    html = page(logged_in, f"/calendar/day/{today.year}/{today.month}/{today.day}/")
    line = re.search(
        r'<div class="now-line t(\d+)" data-now-minute="(\d+)" aria-hidden="true">', html
    )
    assert line
    minute = int(line.group(2))
    assert abs(minute - (now.hour * 60 + now.minute)) <= 1
    assert int(line.group(1)) == minute // 15
    week = page(logged_in, f"/calendar/week/{today.year}/{today.month}/{today.day}/")
    assert week.count('class="now-line') == 1
    assert "now-line" not in page(logged_in, "/calendar/week/2026/5/4/")


def test_the_small_month_links_to_weeks_from_the_week_and_to_days_from_the_day(logged_in):
    week = page(logged_in, "/calendar/week/2026/5/6/")
    mini = week[week.index('<nav class="mini-month"') :]
    assert 'id="mini-month-title" href="/calendar/month/2026/5/">May 2026</a>' in mini
    assert 'href="/calendar/week/2026/5/20/" aria-label="Wednesday, May 20, 2026"' in mini
    assert mini.count('class="shown"') == 7  # 4 to 10 May
    assert 'href="/calendar/week/2026/4/6/"' in mini and ">April 2026<" in mini
    assert 'href="/calendar/week/2026/6/6/"' in mini and ">June 2026<" in mini
    assert '<abbr title="Monday">Mo</abbr>' in mini
    day = page(logged_in, "/calendar/day/2026/5/6/")
    mini = day[day.index('<nav class="mini-month"') :]
    assert 'class="shown" href="/calendar/day/2026/5/6/"' in mini
    assert 'class="other-month" href="/calendar/day/2026/4/27/"' in mini
    assert "/calendar/week/" not in mini


def test_a_phone_gets_counts_in_the_month_and_the_days_of_a_week(logged_in, user):
    for hour in (9, 11):
        make_appointment(user, title=f"At {hour}", start=berlin(6, hour))
    make_appointment(user, title="Alone", start=berlin(7, 9))
    month = page(logged_in, "/calendar/month/2026/5/")
    assert (
        '<span class="day-count"><span aria-hidden="true">2</span>'
        '<span class="visually-hidden">2 appointments</span></span>'
    ) in month
    assert '<span class="visually-hidden">1 appointment</span>' in month
    assert month.count('class="day-count"') == 2
    week = page(logged_in, "/calendar/week/2026/5/4/")
    assert 'class="week-list d-md-none d-print-none"' in week
    assert '<a href="/calendar/day/2026/5/7/">Thursday, May 7, 2026</a></h2>' in week
    day = page(logged_in, "/calendar/day/2026/5/6/")
    assert "week-list" not in day  # one column fits a phone: the day keeps its grid
    assert 'class="calendar-grid d-print-block"' in day


def test_all_day_appointments_say_no_all_day_in_the_all_day_row(logged_in, user):
    make_appointment(user, title="Holiday", all_day=True, start=berlin(6, 0), end=berlin(6, 0))
    make_appointment(user, title="Trip", start=berlin(6, 10), end=berlin(8, 10))
    html = page(logged_in, "/calendar/week/2026/5/4/")
    row = html[html.index('class="all-day-row"') : html.index("</thead>")]
    assert re.search(r'class="entry whole-day" href="[^"]+">Holiday</a>', row)
    assert '<span class="entry-time">10:00\u202fAM →</span> Trip' in row


def test_the_navigation_offers_shortcuts_and_their_help(logged_in):
    html = page(logged_in, "/calendar/week/2026/5/6/")
    assert 'href="/calendar/week/2026/4/29/" rel="prev" data-shortcut="p"' in html
    assert 'href="/calendar/week/2026/5/13/" rel="next" data-shortcut="n"' in html
    today = datetime.now(BERLIN).date()
    assert (
        f'href="/calendar/week/{today.year}/{today.month}/{today.day}/" data-shortcut="t"'
    ) in html
    dialog = html[html.index('<dialog class="shortcut-help"') : html.index("</dialog>")]
    for key, meaning in (
        ("t", "Go to today"),
        ("n", "Go to the next period"),
        ("?", "Show these shortcuts"),
        ("Enter", "In the month: open the day"),
    ):
        assert re.search(rf"<kbd>{re.escape(key)}</kbd></dt>\s*<dd[^>]*>{meaning}</dd>", dialog)
    # The button that shows it is hidden until calendar.js can open the dialog.
    assert re.search(r'<button class="[^"]*shortcut-help-button"[^>]*\shidden>', html)
