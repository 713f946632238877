"""Accessibility and valid HTML on every page, in every language, and the keyboard alone.

Each page a visitor, a user, a translator, staff or an admin can reach is loaded in headless
Chromium and checked twice: by axe-core in the page as rendered (its styles and scripts
applied), and by the Nu Html Checker on the HTML as served. The checkers come from the npm
registry, pinned in package.json (`make test` installs them with `npm ci`); the Nu Html Checker
runs on Java as a local HTTP service, started once for the session. A checker that is missing
fails the tests: they are never skipped.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from flask_security.recoverable import generate_reset_password_token
from playwright.sync_api import BrowserContext, Locator, Page, Response, expect
from sqlalchemy import select

from app.accounts.models import Role
from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.e2e import log_in_and_load
from tests.support.factories import PASSWORD, make_appointment, make_user
from tests.support.network import free_port
from tests.support.paths import PROJECT_DIR
from tests.support.zones import UTC

pytestmark = pytest.mark.browser

AXE_SCRIPT = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = PROJECT_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
INSTALL_HINT = "run `make test`, or `npm ci --no-audit --no-fund --ignore-scripts` (package.json)"
# Seconds the Nu Html Checker may take to start (about 10 on two cores) and to check one page.
VNU_START_SECONDS = 90
VNU_CHECK_SECONDS = 60

LANGUAGES = ("en", "es", "fr", "de")
USER = "uma.user@example.com"
ADMIN = "ada.admin@example.com"
STAFF = "sam.staff@example.com"
TRANSLATOR = "tina.translator@example.com"

# axe-core's findings of impact "moderate" that we keep, each on one page and with its reason:
# (rule id, page name): why. None at present. A finding of impact "serious" or "critical" is
# never kept; those of impact "minor" do not fail the test (select2's focusable <input
# role="button"> in the admin panel's owner field is one, aria-allowed-role).
ALLOWED_MODERATE: dict[tuple[str, str], str] = {}
FAILING_IMPACTS = {"moderate", "serious", "critical"}
# How many of the elements that break one rule on a page a failure names.
MAX_ELEMENTS_SHOWN = 50


# ---------------------------------------------------------------------------------------------
# The checkers
# ---------------------------------------------------------------------------------------------


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        pytest.fail(f"{what} is not installed at {path}: {INSTALL_HINT}.")
    return path


@pytest.fixture(scope="session")
def axe_script() -> Path:
    """axe-core's script, which every checked page runs before its own."""
    return _require(AXE_SCRIPT, "axe-core")


class HtmlChecker:
    """The Nu Html Checker (vnu.jar) as an HTTP service on 127.0.0.1, for the whole session.

    It takes seconds to start: pages are handed to it as they are loaded, and checked one after
    another in a thread of their own while the browser goes on to the next pages.
    """

    def __init__(self, log_path: Path):
        java = shutil.which("java")
        if java is None:
            pytest.fail(
                "Java is not installed: the Nu Html Checker needs it (make system-packages "
                "installs Debian's default-jre-headless)."
            )
        _require(VNU_JAR, "The Nu Html Checker (npm package vnu-jar)")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}/"
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [java, "-Dnu.validator.servlet.bind-address=127.0.0.1", "-cp", str(VNU_JAR),
             "nu.validator.servlet.Main", str(port)],
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        self._ready = False
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vnu")

    def check(self, html: str) -> Future[list[str]]:
        """Start checking ``html``; the future gives the checker's errors, one line each."""
        return self._worker.submit(self._errors, html)

    def _errors(self, html: str) -> list[str]:
        if not self._ready:
            self._wait_until_ready()
        request = urllib.request.Request(
            f"{self.url}?out=json", data=html.encode(),
            headers={"Content-Type": "text/html; charset=utf-8"},
        )
        with urllib.request.urlopen(request, timeout=VNU_CHECK_SECONDS) as response:
            messages = json.load(response)["messages"]
        # Errors only: its warnings and notes are advice (a redundant role, say).
        return [
            f"line {message.get('lastLine', '?')}: {message['message']}"
            f" [{' '.join(message.get('extract', '').split())}]"
            for message in messages
            if message["type"] in ("error", "non-document-error")
        ]

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + VNU_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"The Nu Html Checker stopped: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.url, timeout=2):
                    self._ready = True
                    return
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        pytest.fail(f"The Nu Html Checker did not start in {VNU_START_SECONDS} s.")

    def stop(self) -> None:
        self._worker.shutdown(cancel_futures=True)
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._log.close()


@pytest.fixture(scope="session")
def html_checker(tmp_path_factory) -> Iterator[HtmlChecker]:
    checker = HtmlChecker(tmp_path_factory.mktemp("vnu") / "vnu.log")
    try:
        yield checker
    finally:
        checker.stop()


@dataclass
class Audit:
    """The pages checked in one browser context, and what the checkers found on them."""

    page: Page
    html_checker: HtmlChecker
    language: str
    checked: list[str] = field(default_factory=list)
    javascript_errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    html_checks: list[tuple[str, Future[list[str]]]] = field(default_factory=list)

    def visit(self, name: str, url: str, status: int = 200) -> Response:
        """Load ``url`` and check the page."""
        return self.check(name, self.page.goto(url), status)

    def submit(self, name: str, action: Callable[[], None], status: int = 200) -> Response:
        """Do ``action`` (a click that sends a form) and check the page it leads to."""
        with self.page.expect_navigation() as navigation:
            action()
        return self.check(name, navigation.value, status)

    def check(self, name: str, response: Response | None, status: int = 200) -> Response:
        """Check the page that ``response`` brought: its HTML as served, and as rendered."""
        assert response is not None, name
        assert response.status == status, f"{name}: {response.status} at {response.url}"
        self.page.wait_for_load_state("load")
        # The document's own language: a page left in English would pass unnoticed.
        expect(self.page.locator("html")).to_have_attribute("lang", self.language)
        self.checked.append(name)
        where = f"[{self.language}] {name} ({response.url})"
        self.html_checks.append((where, self.html_checker.check(response.text())))
        self.page.mouse.move(0, 0)  # no element is checked in its hover state
        results = self.page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        for violation in results["violations"]:
            if violation["impact"] not in FAILING_IMPACTS:
                continue
            if violation["impact"] == "moderate" and (violation["id"], name) in ALLOWED_MODERATE:
                continue
            nodes = violation["nodes"]
            elements = "; ".join(
                f"{' '.join(node['target'])}: {' '.join(node['failureSummary'].split())}"
                for node in nodes[:MAX_ELEMENTS_SHOWN]
            )
            self.problems.append(
                f"{where}: axe {violation['impact']} {violation['id']}: {violation['help']}"
                f" ({len(nodes)} elements; {elements})"
            )
        return response

    def assert_clean(self) -> None:
        """Fail with every problem found, page by page; the Nu Html Checker's first."""
        html_errors = [
            f"{where}: Nu Html Checker: {error}"
            for where, errors in self.html_checks
            for error in errors.result()
        ]
        problems = html_errors + self.problems
        assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The data the pages show
# ---------------------------------------------------------------------------------------------

ICS_FILE = b"""BEGIN:VCALENDAR\r
VERSION:2.0\r
PRODID:-//sched tests//EN\r
BEGIN:VEVENT\r
UID:one@example.com\r
DTSTART:20260520T090000Z\r
DTEND:20260520T100000Z\r
SUMMARY:Yoga class\r
LOCATION:Hall 2\r
RRULE:FREQ=WEEKLY;COUNT=4\r
END:VEVENT\r
BEGIN:VEVENT\r
UID:two@example.com\r
DTSTART:20260521T090000Z\r
DTEND:20260521T100000Z\r
SUMMARY:Cancelled party\r
STATUS:CANCELLED\r
END:VEVENT\r
END:VCALENDAR\r
"""


@dataclass
class Data:
    appointment_id: int
    series_id: int
    exception_id: int
    user_id: int
    translator_id: int
    role_id: int
    reset_token: str


def make_data(live_server, language: str) -> Data:
    """A user with a full month of appointments, an admin, a staff member and a translator."""
    with live_server.app.app_context():
        profile = {"timezone": "Europe/Berlin", "locale": language}
        user = make_user(USER, full_name="Uma User", **profile)
        make_user(ADMIN, full_name="Ada Admin", roles=("admin",), **profile)
        make_user(STAFF, full_name="Sam Staff", roles=("staff",), **profile)
        translator = make_user(
            TRANSLATOR, full_name="Tina Translator", roles=("translator",), **profile
        )
        dentist = make_appointment(
            user, title="Dentist", location="Main street 1", description="Bring the card.",
            reminder_minutes=60, start=datetime(2026, 5, 6, 8, tzinfo=UTC),
        )
        for title, start in (
            ("Overlapping call", datetime(2026, 5, 6, 8, 30, tzinfo=UTC)),
            ("Last month", datetime(2026, 4, 28, 8, tzinfo=UTC)),  # on the month view's tint
            ("Today", datetime.now(UTC).replace(hour=10, minute=0, second=0, microsecond=0)),
            # More than a day of the month view shows.
            *((f"Class {hour}", datetime(2026, 5, 12, hour, tzinfo=UTC)) for hour in range(8, 13)),
        ):
            make_appointment(user, title=title, start=start)
        make_appointment(
            user, title="Holiday", all_day=True, start=datetime(2026, 5, 7, tzinfo=UTC),
            end=datetime(2026, 5, 9, tzinfo=UTC),
        )
        # Mondays and Thursdays at 09:00 Berlin time; the second Thursday moved.
        yoga = make_appointment(
            user, title="Yoga", start=datetime(2026, 5, 4, 7, tzinfo=UTC),
            end=datetime(2026, 5, 4, 8, tzinfo=UTC), rrule="FREQ=WEEKLY;BYDAY=MO,TH;COUNT=12",
            series_timezone="Europe/Berlin",
        )
        moved = make_appointment(
            user, title="Yoga, later", start=datetime(2026, 5, 14, 16, tzinfo=UTC),
            series_id=yoga.id, recurrence_id=datetime(2026, 5, 14, 7, tzinfo=UTC),
        )
        data = Data(
            appointment_id=dentist.id,
            series_id=yoga.id,
            exception_id=moved.id,
            user_id=user.id,
            translator_id=translator.id,
            role_id=db.session.scalar(select(Role.id).where(Role.name == "staff")),
            reset_token=generate_reset_password_token(user),
        )
        db.session.remove()
    return data


def log_out(audit: Audit) -> None:
    audit.page.context.clear_cookies()


# ---------------------------------------------------------------------------------------------
# The pages
# ---------------------------------------------------------------------------------------------


def check_public_pages(audit: Audit, data: Data) -> None:
    page = audit.page
    audit.visit("home", "/")
    audit.visit("register", "/register")
    audit.visit("reset", "/reset")
    audit.visit("reset, new password", f"/reset/{data.reset_token}")
    audit.visit("confirm", "/confirm")
    audit.visit("404", "/no-such-page", status=404)
    audit.visit("login", "/login")
    page.fill("#email", USER)
    page.fill("#password", "not the password")
    audit.submit("login, refused", lambda: page.click("#submit"), status=400)


def check_user_pages(audit: Audit, data: Data, ics_path: Path) -> None:
    page = audit.page
    detail = f"/appointments/{data.appointment_id}/"
    audit.visit("calendar month", "/calendar/month/2026/5/")
    audit.visit("calendar month, today", "/calendar/")
    audit.visit("calendar week", "/calendar/week/2026/5/6/")
    audit.visit("calendar day", "/calendar/day/2026/5/6/")
    audit.visit("calendar agenda", "/calendar/agenda/?start=2026-05-01")
    audit.visit("calendar agenda, past", "/calendar/agenda/?start=2026-06-01&past=1")
    audit.visit("appointment list", "/appointments/")
    audit.visit("search", "/search/?q=a")
    audit.visit("search, nothing found", "/search/?q=nothing-holds-this")
    audit.visit("appointment detail", detail)
    audit.visit("appointment edit", f"{detail}edit/")
    occurrence = f"/appointments/{data.series_id}/?occurrence=20260507T070000Z"
    audit.visit("series occurrence", occurrence)
    audit.visit("series occurrence edit", occurrence.replace("/?", "/edit/?"))
    audit.visit("series occurrence delete", occurrence.replace("/?", "/delete/occurrences/?"))
    audit.visit("series exception", f"/appointments/{data.exception_id}/")
    audit.visit("appointment create", "/appointments/create/")
    audit.submit(
        "appointment create, errors",
        lambda: page.locator("#content form button[type=submit]").first.click(),
        status=400,
    )
    audit.visit("appointment create, overlap", "/appointments/create/?start=2026-05-06T10:15")
    page.fill("#title", "Overlap")
    audit.submit(
        "appointment create, overlap warning",
        lambda: page.locator("#content form button[type=submit]").first.click(),
    )
    expect(page.locator("#overlap-warning")).to_be_visible()
    audit.visit("profile", "/account/")
    audit.submit(
        "calendar subscription address",
        lambda: page.locator("#calendar-subscription button[type=submit]").click(),
    )
    audit.visit("change password", "/change")
    audit.visit("import", "/calendar/import/")
    page.set_input_files("#file", str(ics_path))
    audit.submit(
        "import preview", lambda: page.locator("#content form button[type=submit]").click()
    )
    audit.visit("403", "/admin/users/", status=403)


def check_admin_pages(audit: Audit, data: Data) -> None:
    page = audit.page
    audit.visit("admin dashboard", "/admin/")
    appointment = f"id={data.appointment_id}"
    audit.visit("admin appointment list", "/admin/appointments/")
    audit.visit(
        "admin appointment list, searched and filtered",
        # Owner e-mail contains "uma", all day is "No", start date between two days.
        "/admin/appointments/?search=dentist&flt0_0=uma&flt1_2=0"
        "&flt2_1=2026-05-01+to+2026-05-31",
    )
    audit.visit("admin appointment details", f"/admin/appointments/details/?{appointment}")
    audit.visit("admin appointment create", "/admin/appointments/new/")
    # What the browser lets through, and the server refuses: no owner, an end before the start.
    page.fill("#title", "Backwards")
    page.fill("#start", "2026-05-04T10:00")
    page.fill("#end", "2026-05-04T09:00")
    audit.submit(
        "admin appointment create, errors",
        lambda: page.locator(".submit-row input[type=submit]").first.click(),
        status=400,
    )
    audit.visit("admin series edit", f"/admin/appointments/edit/?id={data.series_id}")
    audit.visit("admin appointment edit", f"/admin/appointments/edit/?{appointment}")
    # Saving it makes an entry in the audit log.
    page.fill("#location", "Main street 2")
    audit.submit(
        "admin appointment list, after a save",
        lambda: page.locator(".submit-row input[type=submit]").first.click(),
    )
    audit.visit("admin user list", "/admin/users/")
    audit.visit("admin user details", f"/admin/users/details/?id={data.user_id}")
    audit.visit("admin user create", "/admin/users/new/")
    audit.visit("admin user edit", f"/admin/users/edit/?id={data.translator_id}")
    audit.visit("admin role list", "/admin/roles/")
    audit.visit("admin role create", "/admin/roles/new/")
    audit.visit("admin role edit", f"/admin/roles/edit/?id={data.role_id}")
    audit.visit("admin audit log", "/admin/audit/")
    entry = page.locator('table.model-list a[href*="/admin/audit/details/"]').first
    audit.visit("admin audit entry", entry.get_attribute("href"))
    audit.visit("translations", "/admin/translations/")
    language = "fr" if audit.language == "en" else audit.language
    audit.visit("translation entries", f"/admin/translations/{language}/")
    entry = page.locator(f'.entry a[href^="/admin/translations/{language}/"]').first
    audit.visit("translation entry", entry.get_attribute("href"))


def new_audit(new_context, axe_script, html_checker, language: str) -> Audit:
    context: BrowserContext = new_context(locale={"en": "en-US"}.get(language, language))
    context.add_init_script(path=str(axe_script))
    page = context.new_page()
    audit = Audit(page=page, html_checker=html_checker, language=language)
    page.on("pageerror", lambda error: audit.javascript_errors.append(str(error)))
    return audit


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_is_accessible_and_valid_html(
    language, live_server, new_context, axe_script, html_checker, tmp_path
):
    data = make_data(live_server, language)
    ics_path = tmp_path / "calendar.ics"
    ics_path.write_bytes(ICS_FILE)
    audit = new_audit(new_context, axe_script, html_checker, language)

    check_public_pages(audit, data)
    log_in_and_load(audit.page, USER)
    check_user_pages(audit, data, ics_path)
    log_out(audit)
    log_in_and_load(audit.page, ADMIN)
    check_admin_pages(audit, data)
    # The other roles' panels differ in their menus and dashboards.
    for role, email in (("staff", STAFF), ("translator", TRANSLATOR)):
        log_out(audit)
        log_in_and_load(audit.page, email)
        audit.visit(f"admin dashboard, {role}", "/admin/")

    assert len(audit.checked) == len(set(audit.checked)), "two pages with the same name"
    assert audit.javascript_errors == []
    audit.assert_clean()


# ---------------------------------------------------------------------------------------------
# The keyboard alone
# ---------------------------------------------------------------------------------------------

# What has the focus, and whether it shows it: an outline or a box shadow. A part of a native
# control (the picker button inside a date field) has the focus inside the field, not the field
# itself: the browser draws its own ring there, which no style of the page's shows.
FOCUSED = """target => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  const insideNativeControl = !element.matches(":focus") && element.matches(":focus-within");
  return {
    reached: element === target,
    shown: outline || style.boxShadow !== "none" || insideNativeControl,
    element: element.outerHTML.slice(0, 160),
  };
}"""
# Key presses a control may take to reach; a month view has about a hundred stops.
MAX_PRESSES = 200


def press_until_focused(page: Page, target: Locator, key: str = "Tab") -> None:
    """Press ``key`` until ``target`` has the focus; every control on the way must show it."""
    element = target.element_handle()
    for _ in range(MAX_PRESSES):
        page.keyboard.press(key)
        focused = page.evaluate(FOCUSED, element)
        assert focused["shown"], f"no visible focus indicator on {focused['element']}"
        if focused["reached"]:
            return
    pytest.fail(f"{target} not reached in {MAX_PRESSES} presses of {key}")


def arrive(page: Page, url: str) -> None:
    expect(page).to_have_url(re.compile(url))
    page.wait_for_load_state("load")


def test_create_edit_and_delete_an_appointment_with_the_keyboard_alone(new_context, live_server):
    with live_server.app.app_context():
        make_user(USER, full_name="Uma User", timezone="Europe/Berlin")
        db.session.remove()
    # Reduced motion: Bootstrap then draws a focus ring at once, not in a 0.15 s transition.
    page = new_context(reduced_motion="reduce").new_page()
    javascript_errors: list[str] = []
    page.on("pageerror", lambda error: javascript_errors.append(str(error)))
    page.goto("/login")  # logging in is not what this test is about
    page.fill("#email", USER)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    arrive(page, r"/appointments/$")
    page.goto("/calendar/month/2026/5/")
    page.wait_for_load_state("load")

    # Create: the month view's "+" on 12 May, then the form.
    press_until_focused(page, page.locator('a.new-here[href$="?start=2026-05-12T09:00"]'))
    page.keyboard.press("Enter")
    arrive(page, r"/appointments/create/\?start=2026-05-12T09:00$")
    press_until_focused(page, page.locator("#title"))
    page.keyboard.type("Keyboard check")
    press_until_focused(page, page.get_by_role("button", name="Create"))
    page.keyboard.press("Enter")
    arrive(page, r"/appointments/\d+/$")
    expect(page.locator("h1")).to_have_text("Keyboard check")

    # Find it again: the calendar, a date typed in, the day, then the week.
    press_until_focused(page, page.locator("nav.navbar").get_by_role("link", name="Calendar"))
    page.keyboard.press("Enter")
    arrive(page, r"/calendar/month/\d+/\d+/$")
    press_until_focused(page, page.locator("#jump-date"))
    page.keyboard.type("05122026")  # the date field of an en-US browser: mm/dd/yyyy
    press_until_focused(page, page.get_by_role("button", name="Go"))
    page.keyboard.press("Enter")
    arrive(page, r"/calendar/month/2026/5/$")
    press_until_focused(page, page.locator('a.day-number[href$="/calendar/day/2026/5/12/"]'))
    page.keyboard.press("Enter")
    arrive(page, r"/calendar/day/2026/5/12/$")
    press_until_focused(page, page.get_by_role("link", name="Week", exact=True))
    page.keyboard.press("Enter")
    arrive(page, r"/calendar/week/2026/5/12/$")
    press_until_focused(page, page.locator("a.event", has_text="Keyboard check"))
    page.keyboard.press("Enter")
    arrive(page, r"/appointments/\d+/$")

    # Edit: past Save to Cancel, back with Shift+Tab, and Space on Save.
    press_until_focused(page, page.locator("article").get_by_role("link", name="Edit"))
    page.keyboard.press("Enter")
    arrive(page, r"/appointments/\d+/edit/$")
    press_until_focused(page, page.locator("#title"))
    page.keyboard.press("Control+A")
    page.keyboard.type("Keyboard check, edited")
    press_until_focused(page, page.locator("#content form").get_by_role("link", name="Cancel"))
    press_until_focused(page, page.get_by_role("button", name="Save"), key="Shift+Tab")
    page.keyboard.press("Space")
    arrive(page, r"/appointments/\d+/$")
    expect(page.locator("h1")).to_have_text("Keyboard check, edited")

    # Delete, accepting the browser's confirmation.
    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    press_until_focused(page, page.locator("article").get_by_role("button", name="Delete"))
    page.keyboard.press("Enter")
    arrive(page, r"/appointments/$")
    assert dialogs == ["Delete the appointment “Keyboard check, edited”?"]
    expect(page.locator("#content .alert")).to_contain_text(
        "Appointment “Keyboard check, edited” deleted."
    )
    with live_server.app.app_context():
        assert db.session.scalars(select(Appointment)).all() == []
        db.session.remove()
    assert javascript_errors == []
