"""The calendar in a real browser: moving through months and weeks, creating from an empty
slot, opening appointments, and each user's language and first day of the week."""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect

from app.extensions import db
from tests.support.e2e import csp_violations, log_in
from tests.support.factories import make_appointment, make_user
from tests.support.zones import UTC

pytestmark = pytest.mark.browser


def user_with_appointments(live_server, email, **profile):
    with live_server.app.app_context():
        owner = make_user(email, **profile)
        make_appointment(owner, title="Dentist", start=datetime(2026, 5, 6, 8, tzinfo=UTC))
        make_appointment(owner, title="Review", start=datetime(2026, 6, 10, 12, tzinfo=UTC))
        db.session.remove()


def test_navigate_months_and_weeks_and_open_an_appointment(page: Page, live_server):
    user_with_appointments(live_server, "nav@example.com", timezone="Europe/Berlin")
    log_in(page, "nav@example.com")
    page.goto("/calendar/month/2026/5/")
    expect(page.locator("#calendar-title")).to_have_text("May 2026")
    page.get_by_role("link", name="Next").click()
    page.wait_for_load_state()
    expect(page.locator("#calendar-title")).to_have_text("June 2026")
    expect(page.locator("table.calendar-month")).to_contain_text("Review")
    page.get_by_role("link", name="Previous").click()
    page.wait_for_load_state()
    expect(page.locator("#calendar-title")).to_have_text("May 2026")

    page.get_by_role("link", name="Week").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/calendar/week/2026/5/1/$"))
    page.get_by_role("link", name="Next").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/calendar/week/2026/5/8/$"))
    page.get_by_role("link", name="Previous").click()
    page.wait_for_load_state()
    page.get_by_role("link", name="Previous").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/calendar/week/2026/4/24/$"))

    page.fill("#jump-date", "2026-05-06")
    page.get_by_role("button", name="Go").click()
    page.wait_for_load_state()
    expect(page).to_have_url(re.compile(r"/calendar/week/2026/5/6/$"))
    event = page.locator("a.event", has_text="Dentist")
    expect(event).to_contain_text(re.compile(r"10:00\s*AM"))  # 08:00 UTC in Berlin
    event.click()
    expect(page.locator("h1")).to_have_text("Dentist")


def test_create_from_an_empty_day_and_an_empty_slot(page: Page, live_server):
    user_with_appointments(live_server, "slot@example.com", timezone="Europe/Berlin")
    refused = csp_violations(page)
    log_in(page, "slot@example.com")
    page.goto("/calendar/month/2026/5/")
    # A click on the empty part of 12 May.
    page.locator('td[data-create-url$="2026-05-12T09:00"]').click(position={"x": 60, "y": 80})
    expect(page).to_have_url(re.compile(r"/appointments/create/\?start=2026-05-12T09:00$"))
    expect(page.locator("#start")).to_have_value("2026-05-12T09:00")

    page.goto("/calendar/day/2026/5/13/")
    page.locator('a.slot[href$="2026-05-13T15:00"]').click()
    expect(page.locator("#start")).to_have_value("2026-05-13T15:00")
    expect(page.locator("#end")).to_have_value("2026-05-13T16:00")
    page.fill("#title", "Made from the grid")
    page.locator("main button[type=submit]").first.click()
    expect(page.locator("#content .alert").first).to_contain_text("created")
    page.goto("/calendar/day/2026/5/13/")
    expect(page.locator("a.event", has_text="Made from the grid")).to_contain_text(
        re.compile(r"3:00\s*PM")
    )
    assert refused == []  # the calendar's scripts all run under the Content-Security-Policy


def test_german_user_sees_german_names_and_monday_first(page: Page, live_server):
    user_with_appointments(live_server, "de@example.com", timezone="Europe/Berlin", locale="de")
    log_in(page, "de@example.com")
    page.goto("/calendar/month/2026/5/")
    expect(page.locator("#calendar-title")).to_have_text("Mai 2026")
    headers = page.locator("table.calendar-month thead abbr")
    expect(headers.first).to_have_attribute("title", "Montag")
    expect(headers.last).to_have_attribute("title", "Sonntag")
    expect(page.locator('td[data-create-url$="2026-05-06T09:00"]')).to_contain_text("10:00 Dentist")


def test_user_in_the_us_sees_sunday_first(page: Page, live_server):
    user_with_appointments(live_server, "us@example.com", timezone="America/New_York", locale="en")
    log_in(page, "us@example.com")
    page.goto("/calendar/month/2026/5/")
    headers = page.locator("table.calendar-month thead abbr")
    expect(headers.first).to_have_attribute("title", "Sunday")
    expect(headers.last).to_have_attribute("title", "Saturday")
    first_cell = page.locator("table.calendar-month tbody td").first
    expect(first_cell).to_have_attribute("data-create-url", re.compile(r"2026-04-26T09:00$"))
