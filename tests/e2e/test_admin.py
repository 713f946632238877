"""The admin panel in a real browser: staff edit someone's appointment and find the change in
the audit log, an admin deactivates an account, and the panel stays closed to everyone else.

The browser does what the staff member, the admin and the users do; the test makes the data
(factories) and, to make sure, reads the database afterwards.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.accounts.models import User
from app.audit.models import AuditEntry
from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.e2e import arrive, log_in_and_load, save_screenshot
from tests.support.factories import PASSWORD, make_appointment, make_user
from tests.support.zones import UTC

pytestmark = pytest.mark.browser

STAFF = "sam.staff@example.com"
ADMIN = "ada.admin@example.com"
OWNER = "olive.owner@example.com"
OTHER = "otto.other@example.com"


def admin_nav(page: Page):
    """The admin panel's navigation bar (Flask-Admin's, in the site's colours)."""
    return page.locator("nav.navbar")


def admin_flash(page: Page):
    return page.locator("main#content > .alert")


def list_rows(page: Page):
    """The rows of Flask-Admin's list; not those of a table nested in a cell (audit changes)."""
    return page.locator("table.model-list > tbody > tr")


def open_admin_panel_from_the_user_menu(page: Page) -> None:
    """On a public page: open the user menu in the navigation bar and follow "Admin panel"."""
    admin_link = page.get_by_role("link", name="Admin panel")
    expect(admin_link).to_be_hidden()
    page.click("#user-menu")
    expect(admin_link).to_be_visible()
    admin_link.click()
    arrive(page, re.compile(r"/admin/$"))


# ---------------------------------------------------------------------------------------------
# Staff: find someone's appointment, change it, see the change in the audit log
# ---------------------------------------------------------------------------------------------


def test_staff_edits_someones_appointment_and_finds_the_change_in_the_audit_log(
    page: Page, live_server, tmp_path
):
    with live_server.app.app_context():
        make_user(STAFF, full_name="Sam Staff", roles=("staff",), timezone="Europe/Berlin")
        owner = make_user(OWNER, full_name="Olive Owner", timezone="Europe/Berlin")
        dentist = make_appointment(
            owner,
            title="Dentist check-up",
            location="Main street 1",
            start=datetime(2026, 5, 4, 8, tzinfo=UTC),
        )
        make_appointment(owner, title="Team lunch", start=datetime(2026, 5, 5, 10, tzinfo=UTC))
        other = make_user(OTHER)
        make_appointment(other, title="Dentist for Otto", start=datetime(2026, 5, 6, 9, tzinfo=UTC))
        dentist_id = dentist.id
        db.session.remove()

    # From a public page to the admin panel, through the user menu.
    log_in_and_load(page, STAFF)
    open_admin_panel_from_the_user_menu(page)
    expect(page.locator("#count-users")).to_have_text("3")

    # The list of everyone's appointments.
    admin_nav(page).get_by_role("link", name="All appointments").click()
    arrive(page, re.compile(r"/admin/appointments/$"))
    expect(list_rows(page)).to_have_count(3)

    # Search for part of the title and the owner's address.
    search = page.locator("form[role=search] input[name=search]")
    search.fill("dentist olive.owner")
    search.press("Enter")
    arrive(page, re.compile(r"/admin/appointments/\?search=dentist"))
    expect(list_rows(page)).to_have_count(1)
    row = list_rows(page).first
    expect(row).to_contain_text("Dentist check-up")
    expect(row).to_contain_text(OWNER)

    # Edit it.
    row.get_by_title("Edit Record").click()
    arrive(page, re.compile(rf"/admin/appointments/edit/\?id={dentist_id}&url="))
    expect(page.locator("#title")).to_have_value("Dentist check-up")
    expect(page.locator("#location")).to_have_value("Main street 1")
    page.fill("#title", "Dentist, moved upstairs")
    page.fill("#location", "Main street 1, 2nd floor")
    page.get_by_role("button", name="Save", exact=True).click()

    # Back in the searched list, with the new title.
    arrive(page, re.compile(r"/admin/appointments/\?search=dentist"))
    expect(admin_flash(page)).to_contain_text("Record was successfully saved.")
    expect(list_rows(page)).to_have_count(1)
    row = list_rows(page).first
    expect(row).to_contain_text("Dentist, moved upstairs")
    expect(row).to_contain_text("Main street 1, 2nd floor")
    expect(row).not_to_contain_text("Dentist check-up")
    save_screenshot(page, tmp_path / "appointment-list.png", "admin-")

    with live_server.app.app_context():
        stored = db.session.get(Appointment, dentist_id)
        assert stored.title == "Dentist, moved upstairs"
        assert stored.location == "Main street 1, 2nd floor"
        db.session.remove()

    # The audit log: who changed what, field by field.
    admin_nav(page).get_by_role("link", name="Audit log").click()
    arrive(page, re.compile(r"/admin/audit/$"))
    entry = list_rows(page).filter(has_text="Changed").filter(has_text="Dentist, moved upstairs")
    expect(entry).to_have_count(1)
    expect(entry.locator("td.col-action")).to_have_text("Changed")  # an "update" entry
    expect(entry.locator("td.col-actor_email")).to_have_text(STAFF)
    expect(entry.locator("td.col-object_type")).to_have_text("Appointment")
    changes = entry.locator("table.audit-changes tr")
    expect(changes).to_have_count(2)
    title_change = changes.filter(has=page.locator("th", has_text="Title"))
    expect(title_change.locator(".audit-old")).to_have_text("Dentist check-up")
    expect(title_change.locator(".audit-new")).to_have_text(
        re.compile(r"^\s*changed to\s*Dentist, moved upstairs$")
    )
    expect(title_change.locator(".audit-old del")).to_have_text("Dentist check-up")
    expect(title_change.locator(".audit-new ins")).to_have_text("Dentist, moved upstairs")
    location_change = changes.filter(has=page.locator("th", has_text="Location"))
    expect(location_change.locator(".audit-old del")).to_have_text("Main street 1")
    expect(location_change.locator(".audit-new ins")).to_have_text("Main street 1, 2nd floor")
    save_screenshot(page, tmp_path / "audit-log.png", "admin-")

    with live_server.app.app_context():
        entries = db.session.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "update",
                AuditEntry.object_type == "Appointment",
                AuditEntry.object_id == str(dentist_id),
            )
        ).all()
        assert [(e.actor_email, e.changes) for e in entries] == [
            (
                STAFF,
                {
                    "title": ["Dentist check-up", "Dentist, moved upstairs"],
                    "location": ["Main street 1", "Main street 1, 2nd floor"],
                },
            )
        ]
        db.session.remove()


# ---------------------------------------------------------------------------------------------
# Admin: deactivate an account; its sessions end and it cannot log in
# ---------------------------------------------------------------------------------------------


def test_admin_deactivates_a_user_who_is_logged_out_and_cannot_log_in(
    page: Page, new_context, live_server
):
    with live_server.app.app_context():
        make_user(ADMIN, full_name="Ada Admin", roles=("admin",))
        make_user(OWNER, full_name="Olive Owner")
        make_user(OTHER, full_name="Otto Other")
        db.session.remove()

    # Olive is logged in elsewhere before anything happens.
    olives = new_context().new_page()
    log_in_and_load(olives, OWNER)
    expect(olives.locator("#user-menu")).to_have_text("Olive Owner")

    # The admin selects Olive and runs "Deactivate" from the "With selected" menu.
    log_in_and_load(page, ADMIN)
    page.goto("/admin/users/")
    olive_row = list_rows(page).filter(has_text=OWNER)
    expect(olive_row).to_have_count(1)
    expect(olive_row.locator("td.col-active span")).to_have_attribute("title", "active: true")
    olive_row.locator("input.action-checkbox").check()
    deactivate = page.get_by_role("button", name="Deactivate", exact=True)  # an action, not a link
    expect(deactivate).to_be_hidden()
    page.get_by_role("button", name="With selected").click()
    expect(deactivate).to_be_visible()
    dialogs = []

    def accept(dialog):
        dialogs.append((dialog.type, dialog.message))
        dialog.accept()

    page.once("dialog", accept)
    deactivate.click()
    expect(admin_flash(page)).to_contain_text("1 user was deactivated.")
    expect(admin_flash(page)).to_have_class(re.compile(r"\balert-success\b"))
    assert dialogs == [
        (
            "confirm",
            "Deactivate the selected users? They are logged out everywhere and cannot log in.",
        )
    ]
    arrive(page, re.compile(r"/admin/users/(\?page_size=25)?$"))  # back at the list
    expect(olive_row.locator("td.col-active span")).to_have_attribute("title", "active: false")
    otto_row = list_rows(page).filter(has_text=OTHER)
    expect(otto_row.locator("td.col-active span")).to_have_attribute("title", "active: true")

    with live_server.app.app_context():
        active = dict(db.session.execute(select(User.email, User.active)).all())
        assert active == {ADMIN: True, OWNER: False, OTHER: True}
        db.session.remove()

    # Olive's open session has ended: her next page is the login page.
    olives.goto("/appointments/")
    arrive(olives, re.compile(r"/login\?next="))
    expect(olives.locator("#password")).to_be_visible()

    # Logging in again, with the right password, in a fresh browser, is refused.
    fresh = new_context().new_page()
    fresh.goto("/login")
    fresh.fill("#email", OWNER)
    fresh.fill("#password", PASSWORD)
    fresh.click("#submit")
    # The same address: the page the POST answered, not the one it came from.
    # The answer a wrong password gets: it does not tell that the account exists.
    expect(fresh.locator("#content")).to_contain_text("Authentication failed")
    arrive(fresh, re.compile(r"/login$"))
    fresh.goto("/appointments/")
    arrive(fresh, re.compile(r"/login\?next="))


# ---------------------------------------------------------------------------------------------
# Who may not enter
# ---------------------------------------------------------------------------------------------


def test_a_plain_user_gets_forbidden_and_no_admin_link(page: Page, live_server):
    with live_server.app.app_context():
        make_user(OWNER, full_name="Olive Owner")
        db.session.remove()
    log_in_and_load(page, OWNER)
    page.click("#user-menu")
    expect(page.get_by_role("link", name="Profile")).to_be_visible()
    expect(page.get_by_role("link", name="Admin panel")).to_have_count(0)

    response = page.goto("/admin/")
    assert response.status == 403
    expect(page.locator("h1")).to_have_text("Forbidden")
    expect(page.locator("#content")).to_contain_text("You do not have permission to see this page.")


def test_an_anonymous_visitor_logs_in_and_comes_back_to_the_admin_panel(page: Page, live_server):
    with live_server.app.app_context():
        make_user(STAFF, full_name="Sam Staff", roles=("staff",))
        db.session.remove()
    page.goto("/admin/")
    arrive(page, re.compile(r"/login\?next=/admin/$"))
    page.fill("#email", STAFF)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    arrive(page, live_server.url + "/admin/")
    expect(page.locator("#count-users")).to_have_text("1")
    expect(page.locator("#user-menu")).to_have_text("Sam Staff")
