"""The admin panel as part of the same product, in a real browser: the site's Bootstrap and
colours, times labelled with their zone and the owner's clock beside the staff member's, an
audit log in local times that fits 1280 px, and Django admin's extras (filters beside the list,
a page that names what a bulk delete removes, "Select all N", each object's history).

Every page these tests load runs under the site's Content-Security-Policy with nothing refused.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import func, select

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.e2e import arrive, csp_violations, log_in_and_load, save_screenshot
from tests.support.factories import make_appointment, make_user
from tests.support.zones import UTC

pytestmark = pytest.mark.browser

STAFF = "sam.staff@example.com"
OWNER = "olive.owner@example.com"
OTHER = "otto.other@example.com"
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture
def desktop(new_context) -> Page:
    """A staff member's browser at 1280 x 800, failing the test on any script error."""
    page = new_context(viewport=DESKTOP).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    assert not errors, f"JavaScript errors in the page: {errors}"


def make_people(live_server) -> dict[str, int]:
    """Sam (staff, New York), Olive (Berlin) with a dentist's appointment, Otto (New York)."""
    with live_server.app.app_context():
        make_user(STAFF, full_name="Sam Staff", roles=("staff",), timezone="America/New_York")
        olive = make_user(OWNER, full_name="Olive Owner", timezone="Europe/Berlin")
        otto = make_user(OTHER, full_name="Otto Other", timezone="America/New_York")
        dentist = make_appointment(
            olive,
            title="Dentist",
            start=datetime(2026, 5, 4, 8, tzinfo=UTC),
            end=datetime(2026, 5, 4, 9, tzinfo=UTC),
        )
        call = make_appointment(
            otto,
            title="Call",
            start=datetime(2026, 5, 5, 14, tzinfo=UTC),
            end=datetime(2026, 5, 5, 15, tzinfo=UTC),
        )
        ids = {"dentist": dentist.id, "call": call.id, "olive": olive.id}
        db.session.remove()
    return ids


def rows(page: Page):
    return page.locator("table.model-list > tbody > tr")


def scrolls_sideways(page: Page) -> bool:
    return page.evaluate(
        "() => document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def test_the_panel_wears_the_sites_bootstrap_and_colours(desktop: Page, live_server, tmp_path):
    make_people(live_server)
    refused = csp_violations(desktop)
    log_in_and_load(desktop, STAFF)
    public_bar = desktop.locator("nav.navbar").evaluate(
        "nav => getComputedStyle(nav).backgroundColor"
    )
    desktop.goto("/admin/appointments/")
    arrive(desktop, re.compile(r"/admin/appointments/$"))

    # The public site's Bootstrap 5 and app.css, not Flask-Admin's Bootstrap 4.
    sheets = desktop.evaluate("() => [...document.styleSheets].map(s => s.href || '')")
    assert any("/static/vendor/bootstrap/bootstrap.min.css" in sheet for sheet in sheets)
    assert any("/static/css/app.css" in sheet for sheet in sheets)
    assert not any("bootstrap4/css/bootstrap.min.css" in sheet for sheet in sheets)
    assert not any("swatch" in sheet for sheet in sheets)
    version = desktop.evaluate("() => window.bootstrap && bootstrap.Tooltip.VERSION")
    assert version.startswith("5."), version
    admin_bar = desktop.locator("nav.navbar").evaluate(
        "nav => getComputedStyle(nav).backgroundColor"
    )
    assert admin_bar == public_bar
    # Bootstrap 5's menus open: the user menu and the list's page size menu.
    desktop.click("#user-menu")
    expect(desktop.get_by_role("link", name="Profile")).to_be_visible()
    desktop.keyboard.press("Escape")
    desktop.get_by_role("button", name="25 items").click()
    expect(desktop.get_by_role("link", name="50 items")).to_be_visible()
    save_screenshot(desktop, tmp_path / "admin-list-1280.png", "admin-product-")
    assert not scrolls_sideways(desktop)
    assert refused == []


def test_times_name_their_zone_and_the_owners_clock(desktop: Page, live_server, tmp_path):
    ids = make_people(live_server)
    refused = csp_violations(desktop)
    log_in_and_load(desktop, STAFF)
    desktop.goto("/admin/appointments/")
    arrive(desktop, re.compile(r"/admin/appointments/$"))

    # The headers say whose clock the times are on: Sam's, in New York.
    start_header = desktop.locator("table.model-list th.col-start")
    expect(start_header.locator(".zone-note")).to_have_text("New York time")
    expect(desktop.locator("table.model-list th.col-end .zone-note")).to_have_text("New York time")
    # 08:00 UTC is 4:00 AM in New York and 10:00 AM in Berlin, Olive's zone.
    dentist = rows(desktop).filter(has_text="Dentist")
    expect(dentist.locator("td.col-start")).to_contain_text(re.compile(r"5/4/26, 4:00\sAM"))
    expect(dentist.locator("td.col-start .owner-time")).to_have_text(
        re.compile(r"^Owner: 5/4/26, 10:00\sAM, Berlin time$")
    )
    # Otto lives in New York too: his times are shown once.
    expect(rows(desktop).filter(has_text="Call").locator(".owner-time")).to_have_count(0)

    # The details: in full, the zone named, the owner's clock beside it.
    desktop.goto(f"/admin/appointments/details/?id={ids['dentist']}")
    arrive(desktop, re.compile(r"/details/"))
    start = desktop.locator("td.col-start")
    expect(start).to_contain_text("Eastern Daylight Time")
    expect(start.locator(".owner-time")).to_contain_text("Berlin time")

    # The form: each time says it is on Sam's clock, and what Olive's shows.
    desktop.goto(f"/admin/appointments/edit/?id={ids['dentist']}")
    arrive(desktop, re.compile(r"/edit/"))
    expect(desktop.locator("#start")).to_have_value("2026-05-04T04:00")
    help_text = desktop.locator("#start-help")
    expect(help_text).to_have_text(
        re.compile(
            r"In your time zone: New York time\. "
            r"On the owner's clock \(Berlin time\): 5/4/26, 10:00\sAM\."
        )
    )
    expect(desktop.locator("#start")).to_have_attribute("aria-describedby", "start-help")
    save_screenshot(desktop, tmp_path / "admin-edit-1280.png", "admin-product-")
    assert not scrolls_sideways(desktop)
    assert refused == []


def test_the_audit_log_shows_local_times_and_fits_1280_px(desktop: Page, live_server, tmp_path):
    ids = make_people(live_server)
    refused = csp_violations(desktop)
    log_in_and_load(desktop, STAFF)
    desktop.goto(f"/admin/appointments/edit/?id={ids['dentist']}")
    arrive(desktop, re.compile(r"/edit/"))
    desktop.fill("#start", "2026-05-04T05:00")
    desktop.fill("#end", "2026-05-04T06:00")
    desktop.fill("#description", "A long note " * 30)
    desktop.get_by_role("button", name="Save", exact=True).click()
    arrive(desktop, re.compile(r"/admin/appointments/"))

    desktop.goto("/admin/audit/")
    arrive(desktop, re.compile(r"/admin/audit/$"))
    expect(desktop.locator("table.model-list th.col-created .zone-note")).to_have_text(
        "New York time"
    )
    entry = rows(desktop).filter(has_text="Changed").filter(has_text="Dentist")
    start = entry.locator("table.audit-changes tr").filter(
        has=desktop.locator("th", has_text="Start")
    )
    # Stored as 08:00 and 09:00 UTC; shown on Sam's clock, not as ISO 8601 in UTC.
    expect(start.locator(".audit-old")).to_have_text(re.compile(r"^5/4/26, 4:00\sAM$"))
    expect(start.locator(".audit-new ins")).to_have_text(re.compile(r"^5/4/26, 5:00\sAM$"))
    expect(entry).not_to_contain_text("+00:00")
    save_screenshot(desktop, tmp_path / "admin-audit-log-1280.png", "admin-product-")
    assert not scrolls_sideways(desktop)
    assert refused == []


def test_filters_beside_the_list(desktop: Page, live_server):
    with live_server.app.app_context():
        make_user(STAFF, roles=("staff",), timezone="Europe/Berlin")
        olive = make_user(OWNER, timezone="Europe/Berlin")
        otto = make_user(OTHER, timezone="Europe/Berlin")
        make_appointment(
            olive,
            title="Holiday",
            all_day=True,
            start=datetime(2026, 5, 7, tzinfo=UTC),
            end=datetime(2026, 5, 8, tzinfo=UTC),
        )
        make_appointment(olive, title="Dentist", start=datetime(2026, 5, 4, 8, tzinfo=UTC))
        make_appointment(otto, title="Call", start=datetime(2026, 5, 5, 8, tzinfo=UTC))
        db.session.remove()
    refused = csp_violations(desktop)
    log_in_and_load(desktop, STAFF)
    desktop.goto("/admin/appointments/")
    arrive(desktop, re.compile(r"/admin/appointments/$"))
    sidebar = desktop.locator("aside#sidebar-filters")
    expect(sidebar).to_be_visible()
    # Beside the list, not above or below it.
    table_box = desktop.locator("table.model-list").bounding_box()
    sidebar_box = sidebar.bounding_box()
    assert sidebar_box["x"] >= table_box["x"] + table_box["width"]

    all_day = sidebar.locator("section", has=desktop.get_by_role("heading", name="All day"))
    expect(all_day.get_by_role("link", name="All")).to_have_attribute("aria-current", "true")
    all_day.get_by_role("link", name="Yes").click()
    arrive(desktop, re.compile(r"/admin/appointments/\?.*flt0_"))
    expect(rows(desktop)).to_have_count(1)
    expect(rows(desktop).first).to_contain_text("Holiday")
    expect(all_day.get_by_role("link", name="Yes")).to_have_attribute("aria-current", "true")
    all_day.get_by_role("link", name="All").click()
    arrive(desktop, re.compile(r"/admin/appointments/(\?page_size=25)?$"))
    expect(rows(desktop)).to_have_count(3)

    # A typed-in filter: its box is labelled with the filter's name.
    owner_box = sidebar.get_by_role("textbox", name=re.compile(r"^Owner e-mail"))
    owner_box.fill(OTHER)
    owner_box.press("Enter")
    arrive(desktop, re.compile(r"flt0_"))
    expect(rows(desktop)).to_have_count(1)
    expect(rows(desktop).first).to_contain_text("Call")
    expect(sidebar.get_by_role("textbox", name=re.compile(r"^Owner e-mail"))).to_have_value(OTHER)
    assert refused == []


def test_bulk_delete_of_every_matching_row_asks_on_a_page_that_names_them(
    desktop: Page, live_server, tmp_path
):
    with live_server.app.app_context():
        make_user(STAFF, roles=("staff",), timezone="Europe/Berlin")
        olive = make_user(OWNER, timezone="Europe/Berlin")
        first = datetime(2026, 6, 1, 8, tzinfo=UTC)
        for number in range(30):  # more than a page of 25
            make_appointment(
                olive, title=f"Old class {number:02}", start=first + timedelta(days=number)
            )
        make_appointment(olive, title="Keep this one", start=first)
        db.session.remove()
    refused = csp_violations(desktop)
    log_in_and_load(desktop, STAFF)
    desktop.goto("/admin/appointments/?search=old+class")
    arrive(desktop, re.compile(r"search=old"))
    expect(rows(desktop)).to_have_count(25)

    # Selecting the page's rows offers every row that matches the search.
    across = desktop.locator("#select-across")
    expect(across).to_be_hidden()
    desktop.get_by_label("Select all records").check()
    expect(across).to_be_visible()
    expect(across).to_contain_text("All 25 rows on this page are selected.")
    desktop.get_by_role("button", name="Select all 30").click()
    expect(across).to_contain_text("All 30 rows that match are selected.")

    # Delete, from the "With selected" menu: a page names the 30, nothing gone yet.
    desktop.get_by_role("button", name="With selected").click()
    desktop.get_by_role("button", name="Delete", exact=True).click()
    arrive(desktop, re.compile(r"/admin/appointments/action/"))
    expect(desktop.locator("#delete-confirmation h2")).to_have_text("Delete these 30 rows?")
    named = desktop.locator("#deleted-objects > li")
    expect(named).to_have_count(30)
    expect(named.first).to_contain_text("Old class 00")
    expect(desktop.locator("#deleted-objects")).not_to_contain_text("Keep this one")
    save_screenshot(desktop, tmp_path / "admin-delete-confirmation-1280.png", "admin-product-")
    with live_server.app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Appointment)) == 31
        db.session.remove()

    desktop.get_by_role("button", name="Yes, delete").click()
    arrive(desktop, re.compile(r"/admin/appointments/\?.*search=old"))
    expect(desktop.locator("main .alert-success")).to_contain_text(
        "30 records were successfully deleted."
    )
    with live_server.app.app_context():
        assert db.session.scalars(select(Appointment.title)).all() == ["Keep this one"]
        db.session.remove()
    assert refused == []


def test_going_back_from_the_delete_confirmation_deletes_nothing(desktop: Page, live_server):
    with live_server.app.app_context():
        make_user(STAFF, roles=("staff",))
        olive = make_user(OWNER)
        make_appointment(olive, title="Dentist")
        db.session.remove()
    log_in_and_load(desktop, STAFF)
    desktop.goto("/admin/appointments/")
    arrive(desktop, re.compile(r"/admin/appointments/$"))
    rows(desktop).first.locator("input.action-checkbox").check()
    # One page's rows, all of them: nothing more matches, so nothing more is offered.
    expect(desktop.locator("#select-across")).to_have_count(0)
    desktop.get_by_role("button", name="With selected").click()
    desktop.get_by_role("button", name="Delete", exact=True).click()
    expect(desktop.locator("#delete-confirmation h2")).to_have_text("Delete this row?")
    desktop.get_by_role("link", name="No, go back").click()
    arrive(desktop, re.compile(r"/admin/appointments/"))
    expect(rows(desktop)).to_have_count(1)


def test_history_links_to_the_audit_log_of_that_object_alone(desktop: Page, live_server):
    ids = make_people(live_server)
    refused = csp_violations(desktop)
    log_in_and_load(desktop, STAFF)
    for appointment, title in ((ids["dentist"], "Dentist, moved"), (ids["call"], "Call, moved")):
        desktop.goto(f"/admin/appointments/edit/?id={appointment}")
        arrive(desktop, re.compile(r"/edit/"))
        desktop.fill("#title", title)
        desktop.get_by_role("button", name="Save", exact=True).click()
        arrive(desktop, re.compile(r"/admin/appointments/"))

    desktop.goto(f"/admin/appointments/details/?id={ids['dentist']}")
    arrive(desktop, re.compile(r"/details/"))
    desktop.get_by_role("link", name="History").click()
    arrive(desktop, re.compile(rf"/admin/audit/\?flt0_object_id=Appointment:{ids['dentist']}$"))
    expect(rows(desktop)).to_have_count(1)
    expect(rows(desktop).first).to_contain_text("Dentist, moved")
    # The sidebar says the list is one object's, and leads back to the whole log.
    chosen = desktop.locator("aside#sidebar-filters").get_by_role("link", name="Remove")
    chosen.click()
    arrive(desktop, re.compile(r"/admin/audit/(\?page_size=25)?$"))
    expect(rows(desktop).filter(has_text="Call, moved")).to_have_count(1)

    # The user's edit page links to the user's history.
    desktop.goto(f"/admin/users/details/?id={ids['olive']}")
    arrive(desktop, re.compile(r"/details/"))
    expect(desktop.get_by_role("link", name="History")).to_have_attribute(
        "href", f"/admin/audit/?flt0_object_id=User:{ids['olive']}"
    )
    assert refused == []
