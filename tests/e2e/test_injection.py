"""The pen test's probes in Chromium: markup from a file or a translation, and attributes put
into a page, never send the browser off the site, on load or on a click."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import pytest
from playwright.sync_api import Page, expect

from app.core import catalogs
from app.extensions import db
from app.scheduling.models import Appointment
from tests.scheduling.test_ical import ics
from tests.support.e2e import log_in
from tests.support.factories import make_appointment, make_user

pytestmark = pytest.mark.browser
OFF_SITE = "http://127.0.0.1:9/phish"
# How long a page gets to do what an injected refresh or script would do.
SETTLE_MS = 1_500


@pytest.fixture
def app_overrides(writable_translations):
    return {"BABEL_TRANSLATION_DIRECTORIES": str(writable_translations)}


@pytest.fixture
def off_site(page: Page, live_server) -> list[str]:
    """Every request and navigation the page makes to anywhere but the site."""
    seen: list[str] = []
    page.on("request", lambda request: seen.append(request.url)
            if not request.url.startswith(live_server.url) else None)
    page.on("framenavigated", lambda frame: seen.append(frame.url)
            if not frame.url.startswith((live_server.url, "about:")) else None)
    return seen


class Dialogs(list):
    """The text of every confirm or alert the page opened; each is dismissed unless ``accept``."""

    accept = False


@pytest.fixture
def dialogs(page: Page) -> Dialogs:
    opened = Dialogs()

    def record(dialog):
        opened.append(dialog.message)
        dialog.accept() if opened.accept else dialog.dismiss()

    page.on("dialog", record)
    return opened


def owner_with_appointment(live_server, **profile) -> int:
    with live_server.app.app_context():
        owner = make_user("owner@example.com", timezone="UTC", **profile)
        appointment = make_appointment(
            owner, title="Dentist", start=datetime(2026, 6, 10, 9, tzinfo=timezone.utc)
        )
        appointment_id = appointment.id
        db.session.remove()
        return appointment_id


def test_a_time_zone_holding_a_meta_refresh_stays_text_in_the_preview(
    page: Page, live_server, off_site
):
    owner_with_appointment(live_server)
    log_in(page, "owner@example.com")
    zone = f"<meta http-equiv=refresh content=0;url={OFF_SITE}>"
    data = ics(f'SUMMARY:Zone\nDTSTART;TZID="{zone}":20260611T090000\nDTEND:20260611T100000Z')
    page.goto("/calendar/import/")
    probe = {"name": "probe.ics", "mimeType": "text/calendar", "buffer": data}
    page.set_input_files("input[type=file]", files=[probe])
    page.locator("form button[type=submit], form input[type=submit]").last.click()
    reason = f"Its time zone “{zone}” is unknown or cannot be used."
    expect(page.get_by_text(reason)).to_be_visible()
    page.wait_for_timeout(SETTLE_MS)
    expect(page).to_have_url(re.compile(r"/calendar/import/$"))
    assert page.locator("meta[http-equiv]").count() == 0
    assert off_site == []


def test_a_translation_breaking_out_of_the_navigation_label_adds_nothing(
    page: Page, live_server, writable_translations, off_site
):
    breakout = f'Hauptnavigation" data-create-url="{OFF_SITE}" class="calendar-day'
    with catalogs.editing("de", writable_translations) as catalog:
        catalog["Main navigation"].string = breakout
    owner_with_appointment(live_server, locale="de")
    log_in(page, "owner@example.com")
    page.goto("/calendar/month/2026/6/")
    nav = page.locator("nav.navbar")
    expect(nav).to_have_attribute("aria-label", breakout)
    assert nav.get_attribute("data-create-url") is None
    nav.click(position={"x": 5, "y": 5})
    page.wait_for_timeout(SETTLE_MS)
    expect(page).to_have_url(re.compile(r"/calendar/month/2026/6/$"))
    assert off_site == []


def test_the_script_follows_only_its_own_elements_and_only_to_the_site(
    page: Page, live_server, off_site, dialogs
):
    appointment_id = owner_with_appointment(live_server)
    log_in(page, "owner@example.com")
    page.goto("/calendar/month/2026/6/")
    month = "/calendar/month/2026/6/"

    # Attributes that text put into a page could carry, on elements the script does not own.
    page.evaluate("""(target) => {
        const main = document.querySelector("main") || document.body;
        const cell = document.createElement("div");
        cell.className = "calendar-day probe-cell";
        cell.dataset.createUrl = target;
        cell.textContent = "cell";
        const button = document.createElement("button");
        button.className = "probe-button";
        button.dataset.deleteUrl = target;
        button.dataset.confirm = "Delete?";
        button.textContent = "button";
        main.prepend(cell, button);
    }""", OFF_SITE)
    page.locator(".probe-cell").click()
    page.locator(".probe-button").click()
    page.wait_for_timeout(SETTLE_MS)
    expect(page).to_have_url(re.compile(re.escape(month) + "$"))
    assert dialogs == []

    # The script's own day cell, pointed off the site or at a script: the click does nothing.
    day = page.locator("table.calendar-month > tbody > tr > td.calendar-day").nth(10)
    for target in (OFF_SITE, "javascript:alert(1)", "//127.0.0.1:9/phish"):
        day.evaluate("(cell, target) => { cell.dataset.createUrl = target; }", target)
        day.click(position={"x": 3, "y": 3})
        page.wait_for_timeout(500)
        expect(page).to_have_url(re.compile(re.escape(month) + "$"))
    assert dialogs == []
    assert off_site == []

    # Left alone, the cell still starts an appointment on that day.
    page.reload()
    page.locator("table.calendar-month > tbody > tr > td.calendar-day").nth(10).click(
        position={"x": 3, "y": 3}
    )
    expect(page).to_have_url(re.compile(r"/appointments/create/\?"))

    # The delete button, its target and its redirect pointed off the site: nothing is sent.
    page.goto(f"/appointments/{appointment_id}/")
    delete = page.locator("button.js-delete-appointment")
    delete.evaluate("(button, target) => { button.dataset.deleteUrl = target; }", OFF_SITE)
    delete.click()
    page.wait_for_timeout(500)
    assert dialogs == [] and off_site == []

    page.reload()
    dialogs.accept = True
    delete = page.locator("button.js-delete-appointment")
    delete.evaluate("(button, target) => { button.dataset.redirect = target; }", OFF_SITE)
    with page.expect_response(re.compile(r"/delete/$")) as response:
        delete.click()
    assert response.value.ok
    assert dialogs == ["Delete the appointment “Dentist”?"]
    page.wait_for_timeout(SETTLE_MS)
    expect(page).to_have_url(re.compile(rf"/appointments/{appointment_id}/$"))
    assert off_site == []
    with live_server.app.app_context():
        assert db.session.get(Appointment, appointment_id) is None
        db.session.remove()
