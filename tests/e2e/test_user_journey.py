"""A user's way through sched in a real browser: register, confirm, log in, manage an appointment.

Every action the user takes goes through headless Chromium; the test only reads what a user
could not see in the browser itself: the confirmation mail, and the database to make sure.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.support.e2e import csp_violations, log_in, save_screenshot
from tests.support.factories import PASSWORD, make_user
from tests.support.queries import count_appointments

pytestmark = pytest.mark.browser

EMAIL = "robin@example.com"
NAME = "Robin Register"


def flash(page: Page):
    return page.locator("#content .alert")


# 10:00 to 11:30 on the user's clock (Europe/Berlin), as the pages spell it.
BERLIN_TIMES = re.compile(r"Mon, May 4, 2026, 10:00\s*–\s*11:30\s*AM")


def test_register_confirm_log_in_and_manage_an_appointment(page, live_server, tmp_path):
    refused = csp_violations(page)
    # Register.
    page.goto("/")
    page.get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(re.compile(r"/register$"))
    page.fill("#email", EMAIL)
    page.fill("#full_name", NAME)
    page.fill("#password", PASSWORD)
    page.fill("#password_confirm", PASSWORD)
    page.select_option("#timezone", "Europe/Berlin")
    page.select_option("#locale", label="English")
    page.click("#submit")
    expect(flash(page)).to_contain_text(f"To confirm your email address {EMAIL}, please click on")

    # An unconfirmed account cannot log in yet.
    page.goto("/login")
    page.fill("#email", EMAIL)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    # The right password earns the reason (tests/e2e/test_pages_and_forms.py offers the link
    # again; a wrong one gets the answer anyone gets).
    expect(page.locator("#confirmation-needed")).to_contain_text(
        "Your e-mail address is not confirmed yet"
    )

    # Follow the link in the confirmation mail.
    [message] = live_server.wait_for_mail(1)
    assert message.to == [EMAIL]
    links = re.findall(re.escape(live_server.url) + r"/confirm/[\w.-]+", message.body)
    assert links, message.body
    page.goto(links[0])
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(flash(page)).to_contain_text("Your email has been confirmed.")

    # Log in: an empty list of appointments, the user's name in the navigation bar.
    log_in(page, EMAIL)
    expect(page.locator("#user-menu")).to_have_text(NAME)
    expect(page.get_by_text("You have no appointments yet.")).to_be_visible()

    # Create an appointment, on the user's clock (Berlin: UTC+2 in May).
    page.get_by_role("link", name="Create your first appointment").click()
    expect(page).to_have_url(re.compile(r"/appointments/create/$"))
    expect(page.locator("#content form")).to_contain_text(
        "Times are in your time zone, Europe/Berlin."
    )
    page.fill("#title", "Dentist")
    page.fill("#start", "2026-05-04T10:00")
    page.fill("#end", "2026-05-04T11:30")
    page.fill("#location", "Main street 1")
    page.fill("#description", "Bring the card.\nAsk about <teeth>.")
    page.get_by_role("button", name="Create").click()
    expect(page).to_have_url(re.compile(r"/appointments/\d+/$"))
    expect(flash(page)).to_contain_text("Appointment “Dentist” created.")
    expect(page.locator("h1")).to_have_text("Dentist")
    detail = page.locator("article")
    expect(detail).to_contain_text(BERLIN_TIMES)
    expect(detail.locator("time").first).to_have_attribute("datetime", "2026-05-04T08:00:00+00:00")
    expect(detail).to_contain_text("Main street 1")
    expect(detail.locator(".appointment-description")).to_have_text(
        "Bring the card.\nAsk about <teeth>."
    )
    assert count_appointments(live_server.app) == 1

    # It is in the list.
    page.locator("nav.navbar").get_by_role("link", name="Appointments").click()
    expect(page).to_have_url(re.compile(r"/appointments/$"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text("Dentist")
    expect(rows.first).to_contain_text(BERLIN_TIMES)
    expect(rows.first).to_contain_text("Main street 1")
    save_screenshot(page, tmp_path / "appointment-list.png", "e2e-")

    # Open it and change its title.
    rows.first.get_by_role("link", name="Dentist", exact=True).click()
    expect(page.locator("h1")).to_have_text("Dentist")
    page.get_by_role("link", name="Edit", exact=True).click()
    expect(page).to_have_url(re.compile(r"/appointments/\d+/edit/$"))
    expect(page.locator("#title")).to_have_value("Dentist")
    expect(page.locator("#start")).to_have_value("2026-05-04T10:00")
    expect(page.locator("#end")).to_have_value("2026-05-04T11:30")
    page.fill("#title", "Dentist, moved")
    page.get_by_role("button", name="Save").click()
    expect(page).to_have_url(re.compile(r"/appointments/\d+/$"))
    expect(flash(page)).to_contain_text("Appointment “Dentist, moved” saved.")
    expect(page.locator("h1")).to_have_text("Dentist, moved")
    expect(page.locator("article")).to_contain_text(BERLIN_TIMES)

    page.locator("nav.navbar").get_by_role("link", name="Appointments").click()
    expect(rows).to_have_count(1)
    expect(rows.first.locator("td").first).to_have_text("Dentist, moved")

    # Delete it from its page, confirming the browser's dialog.
    rows.first.get_by_role("link", name="Dentist, moved", exact=True).click()
    dialogs = []

    def accept(dialog):
        dialogs.append((dialog.type, dialog.message))
        dialog.accept()

    page.once("dialog", accept)
    page.wait_for_load_state()  # app.js has attached the delete handler
    with page.expect_response(lambda r: r.request.method == "DELETE") as deleted:
        page.locator("article").get_by_role("button", name="Delete").click()
    assert deleted.value.status == 200
    assert deleted.value.headers["content-type"] == "application/json"
    expect(page).to_have_url(re.compile(r"/appointments/$"))
    assert dialogs == [("confirm", "Delete the appointment “Dentist, moved”?")]
    expect(flash(page)).to_contain_text("Appointment “Dentist, moved” deleted.")
    expect(page.get_by_text("You have no appointments yet.")).to_be_visible()
    expect(page.locator("table")).to_have_count(0)
    assert count_appointments(live_server.app) == 0

    # Log out through the user menu.
    log_out = page.get_by_role("button", name="Log out")
    expect(log_out).to_be_hidden()
    page.click("#user-menu")
    expect(log_out).to_be_visible()
    log_out.click()
    expect(page).to_have_url(live_server.url + "/")
    expect(page.locator("nav.navbar").get_by_role("link", name="Log in")).to_be_visible()
    expect(page.locator("#user-menu")).to_have_count(0)

    # The appointments are behind the login page again.
    page.goto("/appointments/")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    expect(page.locator("#password")).to_be_visible()
    # Every script ran from our files: nothing was refused by the Content-Security-Policy.
    assert refused == []


def test_form_error_is_shown_next_to_its_field_and_nothing_is_stored(page, live_server):
    with live_server.app.app_context():
        make_user("olive@example.com", full_name="Olive Owner", timezone="Europe/Berlin")
    log_in(page, "olive@example.com")

    page.goto("/appointments/create/")
    page.fill("#title", "Backwards")
    page.fill("#start", "2026-05-04T10:00")
    page.fill("#end", "2026-05-04T09:00")
    page.get_by_role("button", name="Create").click()

    expect(page).to_have_url(re.compile(r"/appointments/create/$"))
    end = page.locator("#end")
    expect(end).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(end).to_have_attribute("aria-describedby", "end-errors")
    feedback = page.locator("#end + .invalid-feedback")
    expect(feedback).to_be_visible()
    expect(feedback).to_have_text("The end must not be before the start.")
    expect(page.locator("#start")).not_to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator(".invalid-feedback")).to_have_count(1)
    # What the user typed is kept for correcting.
    expect(page.locator("#title")).to_have_value("Backwards")
    expect(end).to_have_value("2026-05-04T09:00")

    assert count_appointments(live_server.app) == 0
    page.goto("/appointments/")
    expect(page.get_by_text("You have no appointments yet.")).to_be_visible()


def test_register_suggests_the_browsers_time_zone(new_context):
    page = new_context(timezone_id="America/New_York").new_page()
    page.goto("/register")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
    expect(page.locator("#timezone")).to_have_value("America/New_York")
    # The other choices on the form keep their defaults.
    expect(page.locator("#locale")).to_have_value("en")
