"""A weekly series in a real browser: made with the form's repeat fields, seen in the month and
week views, then one occurrence moved or deleted ("Only this one") and the rest of the series
changed from a later occurrence on ("This and following")."""

from __future__ import annotations

import re
from datetime import date

import pytest
from playwright.sync_api import Locator, Page, expect

from app.extensions import db
from tests.support.e2e import csp_violations, log_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser

EMAIL = "rita@example.com"
TITLE = "Team meeting"
# The series every test makes: Mondays and Wednesdays at 09:00, ten times from 6 April 2026,
# so on 6, 8, 13, 15, 20, 22, 27 and 29 April and on 4 and 6 May.
MEETING = ("9:00 AM", TITLE)


def april(day: int) -> date:
    return date(2026, 4, day)


def may(day: int) -> date:
    return date(2026, 5, day)


def long_date(day: date) -> str:
    """A day as the month grid names it in English: "Monday, April 6, 2026"."""
    return f"{day:%A, %B} {day.day}, {day.year}"


def medium_date(day: date) -> str:
    """A day as an appointment's page says it in English: "Mon, Apr 6, 2026"."""
    return f"{day:%a, %b} {day.day}, {day.year}"


def shown_as(time: str, title: str) -> re.Pattern:
    """How an occurrence's link reads to a screen reader: its time first, then its title and
    "(repeats)" for the ↻ beside it. Babel may put a narrow no-break space before "AM"."""
    clock = r"\s*".join(re.escape(part) for part in time.split())
    return re.compile(rf"^{clock}\b.*\b{re.escape(title)} \(repeats\)$")


def log_in_a_berlin_user(page: Page, live_server) -> None:
    with live_server.app.app_context():
        make_user(EMAIL, timezone="Europe/Berlin")
        db.session.remove()
    log_in(page, EMAIL)


def create_weekly_series(page: Page) -> None:
    """Fill in the new-appointment form with the series the tests share, and create it."""
    page.goto("/appointments/create/")
    page.get_by_label("Title", exact=True).fill(TITLE)
    page.get_by_label("Start", exact=True).fill("2026-04-06T09:00")
    page.get_by_label("End", exact=True).fill("2026-04-06T10:00")
    page.get_by_label("Repeat", exact=True).select_option(label="Weekly")
    expect(page.get_by_label("Every", exact=True)).to_have_value("1")
    on = page.get_by_role("group", name="On", exact=True)
    on.get_by_role("checkbox", name="Monday").check()
    on.get_by_role("checkbox", name="Wednesday").check()
    page.get_by_role("radio", name="After a number of times").check()
    page.get_by_label("Number of times", exact=True).fill("10")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("alert").filter(has_text="created")).to_have_text(
        f"Appointment “{TITLE}” created."
    )
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    page.wait_for_load_state("load")


def open_month(page: Page, year: int, month: int) -> None:
    page.goto(f"/calendar/month/{year}/{month}/")
    expect(page.locator("#calendar-title")).to_have_text(f"{date(year, month, 1):%B} {year}")


def open_week(page: Page, day: date) -> None:
    page.goto(f"/calendar/week/{day.year}/{day.month}/{day.day}/")
    expect(page.get_by_role("table", name=re.compile(r"\d{4}$"))).to_be_visible()


def month_day(page: Page, day: date) -> Locator:
    """The month grid's cell for ``day``: the one whose day number names it."""
    return page.get_by_role("cell").filter(
        has=page.get_by_role("link", name=long_date(day), exact=True)
    )


def week_column(page: Page, day: date) -> Locator:
    """The week grid's column for ``day``: the one under the heading that links to that day."""
    headings = page.get_by_role("columnheader").get_by_role("link")
    paths = headings.evaluate_all("links => links.map(link => link.pathname)")
    index = paths.index(f"/calendar/day/{day.year}/{day.month}/{day.day}/")
    return page.locator("table.calendar-week td.day-column").nth(index)


def expect_shows(area: Locator, *entries: tuple[str, str]) -> None:
    """Expect a day of the month or week grid to show just these occurrences, (time, title)
    each, in this order."""
    links = area.locator("a.entry, a.event")
    expect(links).to_have_count(len(entries))
    for index, (time, title) in enumerate(entries):
        expect(links.nth(index)).to_have_accessible_name(shown_as(time, title))


def open_occurrence(page: Page, day: date) -> None:
    """Click the occurrence on ``day`` in its week, and arrive at its page."""
    open_week(page, day)
    week_column(page, day).get_by_role("link", name=re.compile(r"\(repeats\)$")).click()
    expect(page.locator("article time")).to_contain_text(medium_date(day))
    page.wait_for_load_state("load")


def open_edit_form(page: Page, scope: str) -> None:
    """From an occurrence's page: Edit, then choose which occurrences to change."""
    page.get_by_role("link", name="Edit", exact=True).click()
    change = page.get_by_role("group", name="Change")
    repeat = page.get_by_label("Repeat", exact=True)
    # "Only this one" comes chosen, and it changes no repeat: the repeat fields wait.
    expect(change.get_by_role("radio", name="Only this one")).to_be_checked()
    expect(repeat).to_be_disabled()
    change.get_by_role("radio", name=scope).check()
    if scope == "Only this one":
        expect(repeat).to_be_disabled()
    else:
        expect(repeat).to_be_enabled()


def save_times(page: Page, start: str, end: str, title: str | None = None) -> None:
    """Type the new start and end (and title) into the edit form, and save."""
    if title is not None:
        page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Start", exact=True).fill(start)
    page.get_by_label("End", exact=True).fill(end)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert").filter(has_text="saved")).to_have_text(
        f"Appointment “{title or TITLE}” saved."
    )
    page.wait_for_load_state("load")


def move_only_this_one(page: Page, day: date, start: str, end: str) -> None:
    open_occurrence(page, day)
    open_edit_form(page, "Only this one")
    save_times(page, start, end)


def delete_only_this_one(page: Page, day: date) -> None:
    """Open the occurrence on ``day``, Delete, keep "Only this one", and confirm."""
    open_occurrence(page, day)
    page.get_by_role("link", name=f"Delete {TITLE}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Delete the appointment “{TITLE}”?")
    expect(page.get_by_role("main")).to_contain_text(medium_date(day))
    expect(page.get_by_role("radio", name="Only this one")).to_be_checked()
    page.get_by_role("button", name="Delete", exact=True).click()
    expect(page.get_by_role("alert").filter(has_text="deleted")).to_have_text(
        f"Appointment “{TITLE}” deleted."
    )
    page.wait_for_load_state("load")


def test_a_weekly_series_made_in_the_form_shows_every_occurrence(page: Page, live_server):
    refused_by_csp = csp_violations(page)
    log_in_a_berlin_user(page, live_server)
    create_weekly_series(page)
    expect(page.locator("#repeat-summary")).to_have_text(
        "Every week on Monday and Wednesday, 10 times"
    )

    open_month(page, 2026, 4)
    for day in (6, 8, 13, 15, 20, 22, 27, 29):
        expect_shows(month_day(page, april(day)), MEETING)
    for day in (5, 7, 9, 14, 21, 28, 30):
        expect_shows(month_day(page, april(day)))
    expect(month_day(page, april(6)).locator(".repeat-mark")).to_have_text("↻")
    open_month(page, 2026, 5)
    expect_shows(month_day(page, may(4)), MEETING)
    expect_shows(month_day(page, may(6)), MEETING)
    expect_shows(month_day(page, may(11)))  # the eleventh time would be here
    expect_shows(month_day(page, may(13)))

    open_week(page, april(13))
    expect_shows(week_column(page, april(13)), ("9:00 AM–10:00 AM", TITLE))
    expect_shows(week_column(page, april(14)))
    expect_shows(week_column(page, april(15)), ("9:00 AM–10:00 AM", TITLE))
    for day in (16, 17, 18, 19):
        expect_shows(week_column(page, april(day)))
    assert refused_by_csp == []


def test_only_this_one_moves_or_deletes_a_single_occurrence(page: Page, live_server):
    log_in_a_berlin_user(page, live_server)
    create_weekly_series(page)

    move_only_this_one(page, april(8), "2026-04-09T12:00", "2026-04-09T13:00")
    expect(page.get_by_role("heading", level=1)).to_have_text(TITLE)
    expect(page.locator("article time")).to_contain_text(medium_date(april(9)))
    expect(page.locator("#repeat-summary")).to_have_text(
        "Every week on Monday and Wednesday, 10 times · this occurrence was changed"
    )
    delete_only_this_one(page, april(13))

    moved = ("12:00 PM", TITLE)
    open_month(page, 2026, 4)
    expect_shows(month_day(page, april(6)), MEETING)
    expect_shows(month_day(page, april(8)))
    expect_shows(month_day(page, april(9)), moved)
    expect_shows(month_day(page, april(13)))
    for day in (15, 20, 22, 27, 29):
        expect_shows(month_day(page, april(day)), MEETING)
    open_month(page, 2026, 5)
    expect_shows(month_day(page, may(4)), MEETING)
    expect_shows(month_day(page, may(6)), MEETING)

    open_week(page, april(6))
    expect_shows(week_column(page, april(6)), ("9:00 AM–10:00 AM", TITLE))
    expect_shows(week_column(page, april(8)))
    expect_shows(week_column(page, april(9)), ("12:00 PM–1:00 PM", TITLE))
    open_week(page, april(13))
    expect_shows(week_column(page, april(13)))
    expect_shows(week_column(page, april(15)), MEETING)


def test_this_and_following_renames_and_moves_the_rest_of_the_series(page: Page, live_server):
    log_in_a_berlin_user(page, live_server)
    create_weekly_series(page)
    move_only_this_one(page, april(8), "2026-04-09T12:00", "2026-04-09T13:00")
    delete_only_this_one(page, april(13))

    # From Wednesday 22 April on: "Planning", on Thursdays instead of Wednesdays.
    open_occurrence(page, april(22))
    open_edit_form(page, "This and following")
    # Five of the ten times come before this one (the deleted one counts).
    expect(page.get_by_label("Number of times", exact=True)).to_have_value("5")
    save_times(page, "2026-04-23T09:00", "2026-04-23T10:00", title="Planning")
    expect(page.get_by_role("heading", level=1)).to_have_text("Planning")
    expect(page.locator("article time")).to_contain_text(medium_date(april(23)))
    expect(page.locator("#repeat-summary")).to_have_text(
        "Every week on Monday and Thursday, 5 times"
    )

    planning = ("9:00 AM", "Planning")
    open_month(page, 2026, 4)
    # Before the split the series is as it was: the moved one moved, the deleted one gone.
    expect_shows(month_day(page, april(6)), MEETING)
    expect_shows(month_day(page, april(8)))
    expect_shows(month_day(page, april(9)), ("12:00 PM", TITLE))
    expect_shows(month_day(page, april(13)))
    expect_shows(month_day(page, april(15)), MEETING)
    expect_shows(month_day(page, april(20)), MEETING)
    # From it on, the new title on Mondays and Thursdays, five times.
    expect_shows(month_day(page, april(22)))
    expect_shows(month_day(page, april(23)), planning)
    expect_shows(month_day(page, april(27)), planning)
    expect_shows(month_day(page, april(29)))
    expect_shows(month_day(page, april(30)), planning)
    open_month(page, 2026, 5)
    expect_shows(month_day(page, may(4)), planning)
    expect_shows(month_day(page, may(6)))
    expect_shows(month_day(page, may(7)), planning)
    expect_shows(month_day(page, may(11)))
    expect_shows(month_day(page, may(14)))

    open_week(page, april(20))
    expect_shows(week_column(page, april(20)), ("9:00 AM–10:00 AM", TITLE))
    expect_shows(week_column(page, april(22)))
    expect_shows(week_column(page, april(23)), ("9:00 AM–10:00 AM", "Planning"))
    open_week(page, april(27))
    expect_shows(week_column(page, april(27)), planning)
    expect_shows(week_column(page, april(29)))
    expect_shows(week_column(page, april(30)), planning)
