"""Moving and resizing appointments in the week and day views, in a real browser: dragged with
the mouse, or by Alt and the arrow keys; a page older than the appointment is refused and
says so (the edit form's lost-update rule), and nothing changes."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.e2e import csp_violations, log_in
from tests.support.factories import make_appointment, make_user
from tests.support.zones import BERLIN, UTC

pytestmark = pytest.mark.browser

EMAIL = "mona@example.com"
DESKTOP = {"width": 1280, "height": 800}


def berlin(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 5, day, hour, minute, tzinfo=BERLIN)


@pytest.fixture
def mona(live_server):
    """A user in Berlin with a dentist on Wednesday 6 May 2026, 10:00 to 11:00."""
    with live_server.app.app_context():
        owner = make_user(EMAIL, timezone="Europe/Berlin")
        dentist_id = make_appointment(
            owner, title="Dentist", start=berlin(6, 10), end=berlin(6, 11)
        ).id
        db.session.remove()
    return dentist_id


def times_of(live_server, appointment_id: int) -> tuple[datetime, datetime]:
    with live_server.app.app_context():
        row = db.session.get(Appointment, appointment_id)
        times = (row.start.astimezone(BERLIN), row.end.astimezone(BERLIN))
        db.session.remove()
    return times


def open_week(page: Page) -> None:
    page.set_viewport_size(DESKTOP)
    log_in(page, EMAIL)
    page.goto("/calendar/week/2026/5/4/")
    page.wait_for_load_state("load")


def box(page: Page, title: str = "Dentist"):
    return page.locator(".time-grid a.event", has_text=title)


def slot_height(page: Page) -> float:
    return page.locator("td.day-column .time-grid").first.evaluate("grid => grid.offsetHeight / 96")


def drag(page: Page, start: tuple[float, float], end: tuple[float, float]) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move((start[0] + end[0]) / 2, (start[1] + end[1]) / 2, steps=4)
    page.mouse.move(*end, steps=4)
    page.mouse.up()


def test_dragging_an_appointment_moves_it_to_another_time_and_day(page: Page, live_server, mona):
    refused = csp_violations(page)
    open_week(page)
    dentist = box(page)
    dentist.scroll_into_view_if_needed()
    where = dentist.bounding_box()
    thursday = page.locator('td.day-column[data-day="2026-05-07"]').bounding_box()
    quarter = slot_height(page)
    x, y = where["x"] + where["width"] / 2, where["y"] + 5
    with page.expect_navigation():
        drag(page, (x, y), (thursday["x"] + thursday["width"] / 2, y + 6 * quarter))
    assert times_of(live_server, mona) == (berlin(7, 11, 30), berlin(7, 12, 30))
    expect(page.locator('td.day-column[data-day="2026-05-07"] a.event', has_text="Dentist")).to_be_visible()
    assert refused == []


def test_dragging_the_lower_edge_changes_the_end(page: Page, live_server, mona):
    open_week(page)
    dentist = box(page)
    dentist.scroll_into_view_if_needed()
    edge = dentist.locator(".resize-handle").bounding_box()
    x, y = edge["x"] + edge["width"] / 2, edge["y"] + edge["height"] / 2
    with page.expect_navigation():
        drag(page, (x, y), (x, y + 2 * slot_height(page)))
    assert times_of(live_server, mona) == (berlin(6, 10), berlin(6, 11, 30))


def test_a_click_without_a_drag_still_opens_the_appointment(page: Page, mona):
    open_week(page)
    box(page).click()
    expect(page).to_have_url(re.compile(rf"/appointments/{mona}/$"))


def test_alt_and_the_arrows_move_and_resize_the_chosen_appointment(page: Page, live_server, mona):
    open_week(page)
    box(page).focus()
    with page.expect_navigation():
        page.keyboard.press("Alt+ArrowDown")
    assert times_of(live_server, mona) == (berlin(6, 10, 15), berlin(6, 11, 15))
    expect(box(page)).to_be_focused()  # drawn again, the same appointment keeps the focus
    with page.expect_navigation():
        page.keyboard.press("Alt+ArrowLeft")
    assert times_of(live_server, mona) == (berlin(5, 10, 15), berlin(5, 11, 15))
    with page.expect_navigation():
        box(page).press("Alt+Shift+ArrowUp")
    assert times_of(live_server, mona) == (berlin(5, 10, 15), berlin(5, 11))


def test_a_move_from_a_page_older_than_the_appointment_is_refused(page: Page, live_server, mona):
    open_week(page)
    with live_server.app.app_context():
        row = db.session.get(Appointment, mona)
        row.title = "Dentist"  # the same, saved elsewhere: a new version all the same
        row.location = "Elsewhere"
        db.session.commit()
        db.session.remove()
    said: list[str] = []
    page.on("dialog", lambda dialog: (said.append(dialog.message), dialog.accept()))
    box(page).focus()
    with page.expect_navigation():
        page.keyboard.press("Alt+ArrowDown")
    assert said and "changed" in said[0], said
    assert times_of(live_server, mona) == (berlin(6, 10), berlin(6, 11))


def test_without_javascript_the_boxes_are_plain_links(new_context, mona):
    page = new_context(java_script_enabled=False).new_page()
    log_in(page, EMAIL)
    page.goto("/calendar/week/2026/5/4/")
    box(page).click()
    expect(page).to_have_url(re.compile(rf"/appointments/{mona}/$"))


def test_the_shortcuts_help_tells_how_to_move_with_the_keyboard(page: Page, mona):
    open_week(page)
    page.keyboard.press("?")
    expect(page.locator("dialog.shortcut-help")).to_contain_text("move the chosen appointment")


def test_an_occurrence_dragged_moves_alone(page: Page, live_server):
    with live_server.app.app_context():
        owner = make_user(EMAIL, timezone="Europe/Berlin")
        series = make_appointment(owner, title="Standup", start=berlin(4, 9), end=berlin(4, 10),
                                  rrule="FREQ=DAILY;COUNT=5", series_timezone="Europe/Berlin")
        series_id = series.id
        db.session.remove()
    open_week(page)
    wednesday = page.locator('td.day-column[data-day="2026-05-06"] a.event', has_text="Standup")
    wednesday.focus()
    with page.expect_navigation():
        page.keyboard.press("Alt+ArrowDown")
    with live_server.app.app_context():
        rows = db.session.query(Appointment).filter_by(series_id=series_id).all()
        assert [(row.start.astimezone(BERLIN), row.recurrence_id.astimezone(UTC)) for row in rows] == [
            (berlin(6, 9, 15), berlin(6, 9).astimezone(UTC))
        ]
        db.session.remove()
