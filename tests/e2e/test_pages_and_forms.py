"""What a person meets on the public pages and the appointment and account forms, in headless
Chromium: a skip link first, one <main> and one h1, contrast that reads, the language menu named
by its language; the all-day switch, the suggested time zone, the feed address question, and
the appointment list on a phone."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.e2e import csp_violations, log_in_and_load, save_screenshot
from tests.support.factories import make_appointment, make_feed_token, make_user
from tests.support.paths import PROJECT_DIR
from tests.support.zones import UTC

pytestmark = pytest.mark.browser

AXE_SCRIPT = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
USER = "uma.user@example.com"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
ANONYMOUS_PAGES = ["/", "/login", "/register", "/reset", "/confirm", "/no-such-page"]
USER_PAGES = [
    "/appointments/", "/appointments/create/", "/account/", "/change", "/calendar/import/",
    "/calendar/month/2026/5/", "/calendar/week/2026/5/6/", "/calendar/day/2026/5/6/",
    "/calendar/agenda/?start=2026-05-01",
]


@pytest.fixture
def uma(live_server):
    with live_server.app.app_context():
        user = make_user(USER, full_name="Uma User", timezone="Europe/Berlin")
        for day in range(4, 9):
            make_appointment(
                user, title=f"Physiotherapy appointment number {day}",
                location="Hauptstraße 123, Hinterhaus, 3. Stock links, 10115 Berlin",
                start=datetime(2026, 5, day, 8, tzinfo=UTC),
            )
        make_appointment(user, title="Holiday", all_day=True,
                         start=datetime(2026, 5, 10, 22, tzinfo=UTC),
                         end=datetime(2026, 5, 12, 22, tzinfo=UTC))
        db.session.remove()


def check_structure(page: Page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")
    assert page.locator("main").count() == 1, url
    assert page.locator("h1").count() == 1, url
    expect(page.locator("#language-menu")).to_have_accessible_name(
        re.compile(r"^Language: English\b")
    )
    # The first Tab reaches the skip link, shown; following it puts the focus in <main>.
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    expect(skip).to_have_text("Skip to main content")
    expect(skip).to_be_visible()
    assert skip.bounding_box()["height"] > 10, url
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "content", url


def test_every_page_has_a_skip_link_one_main_and_one_h1(page, live_server, uma):
    refused = csp_violations(page)
    for url in ANONYMOUS_PAGES:
        check_structure(page, url)
    log_in_and_load(page, USER)
    for url in USER_PAGES:
        check_structure(page, url)
    assert refused == []


def contrast_failures(page: Page) -> list[str]:
    results = page.evaluate(
        "() => axe.run(document, {runOnly: ['color-contrast'], resultTypes: ['violations']})"
    )
    return [
        f"{page.url}: {node['target']}: {' '.join(node['failureSummary'].split())}"
        for violation in results["violations"]
        for node in violation["nodes"]
    ]


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_text_contrast_meets_wcag_aa_on_public_pages(new_context, live_server, uma, viewport):
    context = new_context(viewport=viewport, reduced_motion="reduce")
    context.add_init_script(path=str(AXE_SCRIPT))
    page = context.new_page()
    failures: list[str] = []

    def check(url: str) -> None:
        page.goto(url)
        page.wait_for_load_state("load")
        toggler = page.locator(".navbar-toggler")
        if toggler.is_visible():  # the phone's menu, opened: its links on the bar's blue
            toggler.click()
            expect(page.locator("#main-nav")).to_be_visible()
        page.mouse.move(0, 0)
        failures.extend(contrast_failures(page))

    for url in ANONYMOUS_PAGES:
        check(url)
    log_in_and_load(page, USER)
    for url in USER_PAGES:
        check(url)
    assert failures == []


def test_a_right_password_on_an_unconfirmed_address_offers_the_link_again(page, live_server):
    with live_server.app.app_context():
        make_user("new@example.com", confirmed=False)
    refused = csp_violations(page)
    page.goto("/login")
    page.fill("#email", "new@example.com")
    page.fill("#password", "not the password")
    page.click("#submit")
    expect(page.locator("#content")).to_contain_text("Authentication failed")
    expect(page.locator("#confirmation-needed")).to_have_count(0)

    page.fill("#password", "a long enough password")
    page.click("#submit")
    notice = page.locator("#confirmation-needed")
    expect(notice).to_contain_text("Your e-mail address is not confirmed yet")
    expect(page.locator("#content")).not_to_contain_text("Authentication failed")
    notice.get_by_role("button", name="Send the confirmation link again").click()
    expect(page.locator("#content .alert")).to_contain_text(
        "Confirmation instructions have been sent to new@example.com."
    )
    [message] = live_server.wait_for_mail(1)
    assert message.to == ["new@example.com"] and "/confirm/" in message.body
    assert refused == []


def input_state(page: Page, selector: str) -> tuple[str, str]:
    return tuple(page.eval_on_selector(selector, "input => [input.type, input.value]"))


def test_all_day_turns_the_times_into_days_and_back(page, live_server, uma, tmp_path):
    refused = csp_violations(page)
    log_in_and_load(page, USER)
    page.set_viewport_size(DESKTOP)
    page.goto("/appointments/create/?start=2026-06-01T09:00")
    page.wait_for_load_state("load")
    save_screenshot(page, tmp_path / "appointment-form-desktop.png", "pages-and-forms-")
    page.set_viewport_size(PHONE)
    save_screenshot(page, tmp_path / "appointment-form-phone.png", "pages-and-forms-")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    page.set_viewport_size(DESKTOP)

    page.fill("#end", "2026-06-02T00:00")  # midnight: the end of Monday
    page.check("#all_day")
    assert input_state(page, "#start") == ("date", "2026-06-01")
    assert input_state(page, "#end") == ("date", "2026-06-01")
    page.uncheck("#all_day")
    assert input_state(page, "#start") == ("datetime-local", "2026-06-01T09:00")
    assert input_state(page, "#end") == ("datetime-local", "2026-06-02T00:00")

    page.check("#all_day")
    page.fill("#title", "Day off")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("h1")).to_have_text("Day off")
    expect(page.locator("article")).to_contain_text("All day")
    with live_server.app.app_context():
        saved = db.session.scalar(select(Appointment).filter_by(title="Day off"))
        assert saved.all_day and saved.end - saved.start == timedelta(0)  # Monday alone
        db.session.remove()

    # Its edit form opens with the days; unticking gives it times again.
    page.get_by_role("link", name="Edit").first.click()
    assert input_state(page, "#start") == ("date", "2026-06-01")
    page.uncheck("#all_day")
    assert input_state(page, "#start") == ("datetime-local", "2026-06-01T09:00")
    assert input_state(page, "#end") == ("datetime-local", "2026-06-01T10:00")
    assert refused == []


@pytest.mark.parametrize("browser_zone", ["Asia/Kolkata", "Asia/Calcutta"])
def test_the_register_form_suggests_the_browsers_time_zone(new_context, live_server,
                                                           browser_zone):
    page = new_context(timezone_id=browser_zone).new_page()
    page.goto("/register")
    expect(page.locator("#timezone")).to_have_value("Asia/Kolkata")
    expect(page.locator("#timezone option:checked")).to_have_text("Kolkata (GMT+05:30)")
    groups = page.eval_on_selector_all("#timezone optgroup", "groups => groups.map(g => g.label)")
    assert "Asia" in groups and "Europe" in groups


def test_a_new_feed_address_is_asked_for_first(page, live_server, uma):
    with live_server.app.app_context():
        from app.accounts.models import User

        make_feed_token(db.session.scalar(select(User).filter_by(email=USER)))
        db.session.remove()
    refused = csp_violations(page)
    log_in_and_load(page, USER)
    page.goto("/account/")
    page.get_by_role("link", name="Make a new address").click()
    warning = page.locator("#new-address-warning")
    expect(warning).to_contain_text("stops working at once")
    warning.get_by_role("link", name="Keep the current address").click()
    expect(page.locator("#new-address-warning")).to_have_count(0)

    page.get_by_role("link", name="Make a new address").click()
    page.get_by_role("button", name="Replace the address").click()
    expect(page.locator("#content")).to_contain_text("The old one no longer works.")
    assert refused == []


def test_the_appointment_list_is_cards_on_a_phone_and_a_table_on_a_desktop(
    new_context, live_server, uma, tmp_path
):
    page = new_context(viewport=PHONE).new_page()
    refused = csp_violations(page)
    log_in_and_load(page, USER)
    page.wait_for_load_state("load")
    assert page.evaluate("document.scrollingElement.scrollWidth") <= PHONE["width"]
    save_screenshot(page, tmp_path / "appointment-list-phone.png", "pages-and-forms-")
    first = page.locator("table.appointment-table tbody tr").first
    for part in (
        first.get_by_text("Hauptstraße 123", exact=False),
        first.get_by_role("link", name=re.compile(r"^Edit")),
        first.get_by_role("button", name=re.compile(r"^Delete")),
    ):
        expect(part).to_be_visible()
        box = part.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], part
    expect(page.locator("table.appointment-table thead")).not_to_be_in_viewport()
    # Each line says what it is.
    location = first.locator("td[data-label='Location']")
    assert page.evaluate(
        "cell => getComputedStyle(cell, '::before').content", location.element_handle()
    ) == '"Location: "'

    page.set_viewport_size(DESKTOP)
    expect(page.locator("table.appointment-table thead th").first).to_be_visible()
    assert page.evaluate("getComputedStyle(document.querySelector("
                         "'table.appointment-table tr')).display") == "table-row"
    save_screenshot(page, tmp_path / "appointment-list-desktop.png", "pages-and-forms-")
    assert refused == []
