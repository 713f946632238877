"""The calendar as people use it, in a real browser: the time grid that keeps the days and the
all-day row in sight and opens at the working day, quarter hours, the line of the present
moment, the small month, the keyboard, a phone, paper, and screenshots of every view."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from tests.support.e2e import arrive, csp_violations, log_in, save_screenshot
from tests.support.factories import make_appointment, make_user
from tests.support.zones import BERLIN, UTC

pytestmark = pytest.mark.browser

EMAIL = "cara@example.com"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
VIEWS = {
    "month": "/calendar/month/2026/5/",
    "week": "/calendar/week/2026/5/6/",
    "day": "/calendar/day/2026/5/6/",
    "agenda": "/calendar/agenda/?start=2026-05-04",
}


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment of May 2026 on Berlin's clock (UTC+2 then), in UTC."""
    return datetime(2026, 5, day, hour, minute, tzinfo=BERLIN).astimezone(UTC)


@pytest.fixture
def cara(live_server):
    """A user in Berlin with a week of appointments around Wednesday 6 May 2026."""
    with live_server.app.app_context():
        owner = make_user(EMAIL, full_name="Cara Calendar", timezone="Europe/Berlin")
        make_appointment(
            owner, title="Conference", all_day=True, start=berlin(6, 0), end=berlin(6, 0)
        )
        make_appointment(owner, title="Dentist", start=berlin(6, 10), end=berlin(6, 11))
        make_appointment(owner, title="Quick sync", start=berlin(6, 14), end=berlin(6, 14, 30))
        make_appointment(owner, title="Stand-up", start=berlin(7, 9), end=berlin(7, 9, 15))
        make_appointment(
            owner,
            title="Planning with the whole department and guests",
            location="Meeting room on the fourth floor, east wing, building C",
            start=berlin(5, 13),
            end=berlin(5, 15),
        )
        make_appointment(owner, title="Early train", start=berlin(14, 6, 30), end=berlin(14, 7, 30))
        db.session.remove()
    return EMAIL


def open_page(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def grid_metrics(page: Page) -> dict:
    """Where the time grid's scroll box, its sticky rows and the first hours are on screen."""
    return page.evaluate("""() => {
      const grid = document.querySelector(".calendar-grid");
      const rows = grid.querySelectorAll("thead tr");
      const box = element => element.getBoundingClientRect();
      const hours = [...grid.querySelectorAll(".hour-label")].map(label => box(label).top);
      return {
        top: box(grid).top, bottom: box(grid).bottom, scrollTop: grid.scrollTop,
        daysTop: box(rows[0]).top, allDayTop: box(rows[1]).top, headBottom: box(rows[1]).bottom,
        hours,
      };
    }""")


def new_page(new_context, size: str, errors: list[str]) -> Page:
    """A page on a desktop or a phone (390 by 844, touch) whose JavaScript errors go to ``errors``."""
    if size == "phone":
        context = new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    else:
        context = new_context(viewport=DESKTOP)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def assert_no_sideways_scroll(page: Page, width: int) -> None:
    scroll_width = page.evaluate("() => document.scrollingElement.scrollWidth")
    assert scroll_width <= width, f"{page.url} is {scroll_width} px wide"


# --- 1. The time grid ---------------------------------------------------------------------


@pytest.mark.parametrize("view", ["week", "day"])
def test_the_days_and_all_day_row_stay_in_sight_and_the_grid_opens_at_eight(page: Page, cara, view):
    page.set_viewport_size(DESKTOP)
    refused = csp_violations(page)
    log_in(page, cara)
    open_page(page, VIEWS[view])

    # Opened at 08:00, just below the sticky rows; midnight is scrolled away.
    grid = grid_metrics(page)
    assert grid["scrollTop"] > 0
    assert abs(grid["hours"][8] - grid["headBottom"]) <= 4, grid
    expect(page.locator(".hour-label").first).not_to_be_in_viewport()
    all_day = page.locator(".all-day-row a.entry", has_text="Conference")
    expect(all_day).to_be_visible()

    # Scrolled to the evening, the day names and the all-day row are still on top.
    page.locator(".calendar-grid").evaluate("grid => { grid.scrollTop = grid.scrollHeight; }")
    grid = grid_metrics(page)
    assert abs(grid["daysTop"] - grid["top"]) <= 2, grid
    assert grid["top"] < grid["allDayTop"] < grid["headBottom"] <= grid["bottom"]
    assert grid["hours"][23] > grid["headBottom"]
    expect(all_day).to_be_in_viewport()
    expect(page.locator(".calendar-week thead th", has_text="6").first).to_be_in_viewport()
    assert refused == []


def test_the_grid_opens_earlier_for_an_earlier_appointment(page: Page, cara):
    log_in(page, cara)
    open_page(page, "/calendar/day/2026/5/14/")
    early = page.locator("a.event", has_text="Early train")
    expect(early).to_be_in_viewport()
    grid = grid_metrics(page)
    top = early.bounding_box()["y"]
    # At its hour, 06:00, its half hour below.
    assert abs(grid["hours"][6] - grid["headBottom"]) <= 4, grid
    assert abs(top - grid["hours"][6] - 32) <= 2, (top, grid)


def test_switching_from_the_month_keeps_the_day_in_view(page: Page, cara):
    log_in(page, cara)
    # Not this month: its 1st.
    open_page(page, "/calendar/month/2026/5/")
    page.get_by_role("link", name="Week", exact=True).click()
    arrive(page, re.compile(r"/calendar/week/2026/5/1/$"))
    # This month: today.
    today = datetime.now(BERLIN).date()
    open_page(page, f"/calendar/month/{today.year}/{today.month}/")
    page.get_by_role("link", name="Day", exact=True).click()
    arrive(page, re.compile(rf"/calendar/day/{today.year}/{today.month}/{today.day}/$"))
    page.get_by_role("link", name="Month", exact=True).click()
    arrive(page, re.compile(rf"/calendar/month/{today.year}/{today.month}/$"))
    page.get_by_role("link", name="Week", exact=True).click()
    arrive(page, re.compile(rf"/calendar/week/{today.year}/{today.month}/{today.day}/$"))


# --- 2. Quarter hours and short appointments -----------------------------------------------


def click_at_time(page: Page, day_index: int, hour: int, minute: int) -> None:
    """Click the time grid's column ``day_index`` a little after hour:minute."""
    column = page.locator("table.calendar-week td.day-column .time-grid").nth(day_index)
    column.evaluate(
        "(grid, top) => grid.closest('.calendar-grid').scrollTop = top", (hour - 1) * 64
    )
    box = column.bounding_box()
    y = box["y"] + box["height"] * (hour * 60 + minute + 5) / (24 * 60)
    page.mouse.click(box["x"] + box["width"] * 0.5, y)


def test_a_click_in_the_grid_proposes_its_quarter_hour(page: Page, cara):
    log_in(page, cara)
    open_page(page, "/calendar/day/2026/5/13/")
    click_at_time(page, 0, 10, 45)
    arrive(page, re.compile(r"/appointments/create/\?start=2026-05-13T10:45$"))
    expect(page.locator("#start")).to_have_value("2026-05-13T10:45")
    expect(page.locator("#end")).to_have_value("2026-05-13T11:45")

    open_page(page, "/calendar/week/2026/5/11/")
    click_at_time(page, 2, 16, 15)  # Wednesday 13 May
    arrive(page, re.compile(r"/appointments/create/\?start=2026-05-13T16:15$"))


def test_slots_work_by_the_hour_without_javascript(new_context, cara):
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, cara)
    open_page(page, "/calendar/day/2026/5/13/")
    expect(page.locator("a.slot")).to_have_count(24)
    page.locator('a.slot[href$="2026-05-13T15:00"]').click()
    expect(page.locator("#start")).to_have_value("2026-05-13T15:00")
    # The small month and the switcher are links too.
    open_page(page, "/calendar/week/2026/5/6/")
    page.locator(".mini-month").get_by_role("link", name="Wednesday, May 20, 2026").click()
    arrive(page, re.compile(r"/calendar/week/2026/5/20/$"))
    page.get_by_role("link", name="Day", exact=True).click()
    arrive(page, re.compile(r"/calendar/day/2026/5/20/$"))


@pytest.mark.parametrize("title", ["Quick sync", "Stand-up"])
def test_short_appointments_show_their_title(page: Page, cara, title):
    page.set_viewport_size(DESKTOP)
    log_in(page, cara)
    open_page(page, "/calendar/week/2026/5/6/")
    event = page.locator("a.event", has=page.locator(".entry-title", has_text=title))
    event.scroll_into_view_if_needed()
    shown = event.evaluate("""event => {
      const outer = event.getBoundingClientRect();
      const inner = event.querySelector(".entry-title").getBoundingClientRect();
      return {outer: [outer.top, outer.bottom, outer.left, outer.right],
              inner: [inner.top, inner.bottom, inner.left, inner.right]};
    }""")
    (top, bottom, left, right), (title_top, title_bottom, title_left, title_right) = (
        shown["outer"],
        shown["inner"],
    )
    assert top - 0.5 <= title_top and title_bottom <= bottom + 0.5, shown  # not cut off below
    assert left <= title_left and title_right - title_left >= 40, shown  # wide enough to read
    assert title_right <= right + 0.5, shown


# --- 3. The present moment, the small month, the keyboard -----------------------------------


def test_a_line_marks_the_present_moment_today(page: Page, cara):
    page.set_viewport_size(DESKTOP)
    log_in(page, cara)
    for view in ("week", "day"):
        open_page(page, "/calendar/month/2026/5/")
        page.get_by_role("link", name=view.title(), exact=True).click()
        page.wait_for_load_state("load")
        page.get_by_role("link", name="Today", exact=True).click()
        page.wait_for_load_state("load")
        now = datetime.now(BERLIN)
        line = page.locator(".now-line")
        expect(line).to_have_count(1)
        column = line.locator("xpath=ancestor::td[1]")
        index = column.evaluate("td => td.cellIndex")
        today_heading = (
            page.locator("table.calendar-week thead tr").first.locator("th, td").nth(index)
        )
        expect(today_heading).to_have_attribute("aria-current", "date")
        line.scroll_into_view_if_needed()
        expect(line).to_be_visible()
        fraction = line.evaluate(
            "line => line.offsetTop / line.parentElement.getBoundingClientRect().height"
        )
        minutes = now.hour * 60 + now.minute + now.second / 60
        assert abs(fraction * 24 * 60 - minutes) <= 3, (fraction * 24 * 60, minutes)
    # Another week has none.
    open_page(page, "/calendar/week/2026/5/6/")
    expect(page.locator(".now-line")).to_have_count(0)


def test_the_small_month_jumps_to_weeks_and_days(page: Page, cara):
    page.set_viewport_size(DESKTOP)
    log_in(page, cara)
    open_page(page, "/calendar/week/2026/5/6/")
    mini = page.locator("nav.mini-month")
    expect(mini.locator("#mini-month-title")).to_have_text("May 2026")
    expect(mini.locator("a.shown")).to_have_count(7)  # the week on the page
    # Beside the grid, not below it.
    assert mini.bounding_box()["x"] > page.locator(".calendar-grid").bounding_box()["x"]
    mini.get_by_role("link", name="Wednesday, May 20, 2026").click()
    arrive(page, re.compile(r"/calendar/week/2026/5/20/$"))

    page.get_by_role("link", name="Day", exact=True).click()
    arrive(page, re.compile(r"/calendar/day/2026/5/20/$"))
    mini = page.locator("nav.mini-month")
    expect(mini.locator("a.shown")).to_have_count(1)
    mini.get_by_role("link", name="Thursday, May 21, 2026").click()
    arrive(page, re.compile(r"/calendar/day/2026/5/21/$"))
    mini.get_by_role("link", name="June 2026").click()
    arrive(page, re.compile(r"/calendar/day/2026/6/21/$"))
    expect(page.locator("nav.mini-month #mini-month-title")).to_have_text("June 2026")
    page.locator("nav.mini-month #mini-month-title").click()
    arrive(page, re.compile(r"/calendar/month/2026/6/$"))


def focused_day(page: Page) -> str:
    return page.evaluate("""() => {
      const cell = document.activeElement.closest("td.calendar-day");
      return cell && cell.querySelector("a.day-number").getAttribute("href");
    }""")


def test_the_arrow_keys_move_between_days_and_enter_opens_one(page: Page, cara):
    log_in(page, cara)
    open_page(page, "/calendar/month/2026/5/")
    cells = page.locator("table.calendar-month td.calendar-day")
    expect(page.locator('table.calendar-month td.calendar-day[tabindex="0"]')).to_have_count(1)
    # Tab reaches the days at the 1st (today is elsewhere): one stop for all the days, besides
    # the links in them.
    page.locator("#jump-date").focus()
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.tagName") == "TD":
            break
    assert focused_day(page) == "/calendar/day/2026/5/1/"
    moves = [
        ("ArrowRight", "5/2"),
        ("ArrowDown", "5/9"),
        ("ArrowLeft", "5/8"),
        ("ArrowUp", "5/1"),
        ("End", "5/3"),
        ("Home", "4/27"),
    ]
    for key, day in moves:
        page.keyboard.press(key)
        assert focused_day(page) == f"/calendar/day/2026/{day}/", key
    expect(cells.first).to_have_attribute("tabindex", "0")
    expect(page.locator('table.calendar-month td.calendar-day[tabindex="0"]')).to_have_count(1)
    page.keyboard.press("ArrowUp")  # the first row: nowhere to go
    assert focused_day(page) == "/calendar/day/2026/4/27/"
    page.keyboard.press("Enter")
    arrive(page, re.compile(r"/calendar/day/2026/4/27/$"))


def test_shortcuts_t_n_p_and_their_help(page: Page, cara):
    refused = csp_violations(page)
    log_in(page, cara)
    open_page(page, "/calendar/week/2026/5/6/")
    page.keyboard.press("n")
    arrive(page, re.compile(r"/calendar/week/2026/5/13/$"))
    page.keyboard.press("p")
    arrive(page, re.compile(r"/calendar/week/2026/5/6/$"))

    # Typing into the date field is typing, not a shortcut.
    page.locator("#jump-date").focus()
    for key in ("t", "n", "p", "?"):
        page.keyboard.press(key)
    page.wait_for_timeout(300)
    expect(page).to_have_url(re.compile(r"/calendar/week/2026/5/6/$"))
    expect(page.locator("dialog.shortcut-help")).to_be_hidden()

    # ? and the button show the help; Escape and Close hide it.
    page.locator("#calendar-title").click()
    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_be_visible()
    expect(help_dialog).to_contain_text("Go to the next period")
    page.keyboard.press("n")  # the open help takes no shortcut
    page.keyboard.press("Escape")
    expect(help_dialog).to_be_hidden()
    expect(page).to_have_url(re.compile(r"/calendar/week/2026/5/6/$"))
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(help_dialog).to_be_visible()
    help_dialog.get_by_role("button", name="Close").click()
    expect(help_dialog).to_be_hidden()

    page.keyboard.press("t")
    today = datetime.now(BERLIN).date()
    arrive(page, re.compile(rf"/calendar/week/{today.year}/{today.month}/{today.day}/$"))
    # The month takes them too.
    open_page(page, "/calendar/month/2026/5/")
    page.keyboard.press("n")
    arrive(page, re.compile(r"/calendar/month/2026/6/$"))
    assert refused == []


# --- 4. A phone -------------------------------------------------------------------------------


def test_on_a_phone_the_month_shows_counts_and_a_tap_opens_the_day(new_context, cara):
    errors: list[str] = []
    page = new_page(new_context, "phone", errors)
    log_in(page, cara)
    open_page(page, "/calendar/month/2026/5/")
    day = page.get_by_role("cell").filter(
        has=page.get_by_role("link", name="Wednesday, May 6, 2026", exact=True)
    )
    expect(day.locator(".day-count")).to_be_visible()
    expect(day.locator(".day-count")).to_have_text(re.compile(r"^\s*3\s*3 appointments\s*$"))
    expect(day.locator(".entry-time").first).to_be_hidden()  # no "10:0…"
    expect(day.locator("a.new-here")).to_be_hidden()
    assert_no_sideways_scroll(page, PHONE["width"])
    box = day.bounding_box()
    page.touchscreen.tap(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.8)
    arrive(page, re.compile(r"/calendar/day/2026/5/6/$"))
    expect(page.locator("a.event", has_text="Dentist")).to_be_visible()
    assert errors == []


def test_on_a_phone_the_week_lists_its_days_and_no_view_scrolls_sideways(new_context, cara):
    errors: list[str] = []
    page = new_page(new_context, "phone", errors)
    log_in(page, cara)
    open_page(page, VIEWS["week"])
    expect(page.locator(".calendar-grid")).to_be_hidden()
    days = page.locator(".week-list h2")
    expect(days).to_have_count(7)
    expect(page.locator(".week-list")).to_contain_text("Conference")
    for url in VIEWS.values():
        open_page(page, url)
        assert_no_sideways_scroll(page, PHONE["width"])
    # A day of the list opens its day, with the grid.
    open_page(page, VIEWS["week"])
    days.filter(has_text="Thursday, May 7, 2026").get_by_role("link").click()
    arrive(page, re.compile(r"/calendar/day/2026/5/7/$"))
    expect(page.locator(".calendar-grid")).to_be_visible()
    expect(page.locator("a.event", has_text="Stand-up")).to_be_in_viewport()
    assert errors == []


@pytest.mark.parametrize("language", ["es", "fr", "de"])
def test_on_a_phone_no_view_scrolls_sideways_in_the_other_languages(
    new_context, live_server, language
):
    email = f"{language}@example.com"
    with live_server.app.app_context():
        owner = make_user(email, timezone="Europe/Berlin", locale=language)
        make_appointment(owner, title="Zahnarzttermin", start=berlin(6, 10), end=berlin(6, 11))
        db.session.remove()
    errors: list[str] = []
    page = new_page(new_context, "phone", errors)
    log_in(page, email)
    for url in VIEWS.values():
        open_page(page, url)
        expect(page.locator("html")).to_have_attribute("lang", language)
        assert_no_sideways_scroll(page, PHONE["width"])
    assert errors == []


# --- 5. Paper ---------------------------------------------------------------------------------


PDF_PAGE = re.compile(rb"/Type\s*/Page\b(?!s)")


@pytest.mark.parametrize("view", ["month", "week", "agenda"])
def test_printed_the_view_is_the_grid_alone_on_one_page(page: Page, cara, view):
    log_in(page, cara)
    open_page(page, VIEWS[view])
    page.emulate_media(media="print")
    expect(page.locator("nav.navbar")).to_be_hidden()
    expect(page.locator(".calendar-nav nav")).to_have_count(2)
    for part in page.locator(".calendar-nav nav, .calendar-nav form, nav.mini-month").all():
        expect(part).to_be_hidden()
    visible_buttons = page.locator("main .btn, main button").evaluate_all(
        "elements => elements.filter(element => element.checkVisibility()).length"
    )
    assert visible_buttons == 0
    expect(page.locator("#calendar-title")).to_be_visible()
    if view == "week":
        expect(page.locator(".calendar-grid")).to_be_visible()
        expect(page.locator(".week-list")).to_be_hidden()
        overflow = page.locator(".calendar-grid").evaluate(
            "grid => grid.scrollHeight - grid.clientHeight"
        )
        assert overflow <= 1  # the whole day, no scroll box on paper
    pdf = page.pdf(format="A4")
    assert len(PDF_PAGE.findall(pdf)) == 1


# --- 6. Screenshots -------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_screenshots_of_every_view(new_context, cara, tmp_path, size):
    """Screenshots of each view, for people to look at (kept in $E2E_SCREENSHOT_DIR)."""
    errors: list[str] = []
    page = new_page(new_context, size, errors)
    log_in(page, cara)
    today = datetime.now(BERLIN).date()
    views = {**VIEWS, "week-today": f"/calendar/week/{today.year}/{today.month}/{today.day}/"}
    for name, url in views.items():
        open_page(page, url)
        if size == "phone":
            assert_no_sideways_scroll(page, PHONE["width"])
        path = tmp_path / f"calendar-{name}-{size}.png"
        save_screenshot(page, path, prefix="calendar-product-")
        assert path.stat().st_size > 0
    # The help, open.
    open_page(page, VIEWS["month"])
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    save_screenshot(page, tmp_path / f"calendar-shortcuts-{size}.png", prefix="calendar-product-")
    assert errors == []
