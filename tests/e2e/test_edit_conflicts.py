"""Two tabs editing one appointment in a real browser: the second save is refused, not lost."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.e2e import csp_violations, log_in
from tests.support.factories import make_appointment, make_user

# What two tabs see of one row is the database's doing: checked on PostgreSQL too.
pytestmark = [pytest.mark.browser, pytest.mark.each_database]

CHANGED = (
    "This appointment was changed meanwhile (in another tab or by someone else). Reload it to "
    "see the changes, then make your edit again."
)


def test_saving_in_a_second_tab_shows_the_conflict_and_keeps_the_first_edit(
    context, page, live_server
):
    with live_server.app.app_context():
        owner = make_user("olive@example.com", timezone="Europe/Berlin")
        appointment_id = make_appointment(owner, title="Dentist", location="Main street 1").id
        db.session.remove()
    log_in(page, "olive@example.com")
    edit_url = f"/appointments/{appointment_id}/edit/"

    first = page
    second = context.new_page()
    refused_by_csp = csp_violations(second)
    errors: list[str] = []
    second.on("pageerror", lambda error: errors.append(str(error)))
    first.goto(edit_url)
    second.goto(edit_url)

    first.fill("#title", "Dentist, moved")
    first.get_by_role("button", name="Save").click()
    expect(first).to_have_url(re.compile(rf"/appointments/{appointment_id}/$"))
    expect(first.locator("h1")).to_have_text("Dentist, moved")

    second.fill("#location", "Station road 2")
    second.get_by_role("button", name="Save").click()
    conflict = second.locator("#edit-conflict")
    expect(conflict).to_contain_text(CHANGED)
    expect(second).to_have_url(re.compile(rf"{re.escape(edit_url)}$"))
    # What was typed in the second tab is still there, to copy.
    expect(second.locator("#location")).to_have_value("Station road 2")
    expect(second.locator("#title")).to_have_value("Dentist")

    with live_server.app.app_context():
        stored = db.session.get(Appointment, appointment_id)
        assert (stored.title, stored.location) == ("Dentist, moved", "Main street 1")
        db.session.remove()

    # Reloading shows the first tab's edit; an edit made on it is saved.
    conflict.get_by_role("link", name="Reload the appointment").click()
    expect(second.locator("#edit-conflict")).to_have_count(0)
    expect(second.locator("#title")).to_have_value("Dentist, moved")
    second.fill("#location", "Station road 2")
    second.get_by_role("button", name="Save").click()
    expect(second).to_have_url(re.compile(rf"/appointments/{appointment_id}/$"))
    expect(second.locator("article")).to_contain_text("Station road 2")
    expect(second.locator("h1")).to_have_text("Dentist, moved")
    assert refused_by_csp == [] and errors == []


def test_deleting_in_a_second_tab_says_it_was_deleted_meanwhile(context, page, live_server):
    with live_server.app.app_context():
        owner = make_user("olive@example.com")
        appointment_id = make_appointment(owner, title="Dentist").id
        db.session.remove()
    log_in(page, "olive@example.com")
    detail_url = f"/appointments/{appointment_id}/"
    first, second = page, context.new_page()
    first.goto(detail_url)
    second.goto(detail_url)
    dialogs: list[str] = []

    def answer(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    first.on("dialog", answer)
    second.on("dialog", answer)
    first.get_by_role("button", name="Delete").click()
    expect(first).not_to_have_url(re.compile(rf"{re.escape(detail_url)}$"))
    second.get_by_role("button", name="Delete").click()
    # The confirmation, then the server's reason rather than a generic failure.
    expect(second.get_by_role("button", name="Delete")).to_be_enabled()
    for _ in range(50):
        if len(dialogs) == 3:
            break
        second.wait_for_timeout(100)
    assert len(dialogs) == 3, dialogs
    assert dialogs[2] == "This appointment was deleted meanwhile (in another tab or by someone else)."
