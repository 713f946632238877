"""Text from users, files and translators is shown as text on every page, never as markup.

Each payload goes in through a form, an imported file or a catalog and every page that shows it
is parsed: the payload must appear as written (as text or as an attribute's value) and nothing
it holds may become an element, an attribute, a template expression or a formatted placeholder.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import quote

import pytest

from app.audit import recording as audit
from app.audit.models import AuditEntry
from app.core import catalogs
from app.core.gettext import lazy_gettext
from app.extensions import db
from app.scheduling.models import Appointment
from app.scheduling.reminders import send_reminders
from tests.scheduling.test_ical import confirm, ics, upload
from tests.support.factories import make_appointment, make_user

PAYLOADS = {
    "tags": '<script>alert(1)</script><b data-injected="tag">bold</b>',
    "double quote": '"><img src=x onerror=alert(1) data-injected="double">',
    "single quote": "' onmouseover='alert(1)' data-injected='single",
    "template": "{{ 7*7 }} {% if true %}yes{% endif %}",
    "percent": "%(x)s %s 100 %",
    "javascript": "javascript:alert(1)",
}
# Where a page may link or send the browser: none may ever hold a script URL.
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "data-create-url", "data-delete-url",
                  "data-redirect"}
START = datetime(2026, 6, 10, 9, 0, tzinfo=timezone.utc)


class Page(HTMLParser):
    """A page's elements (tag and attributes) and all its text, parsed as a browser would."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, {name: value or "" for name, value in attrs}))

    def handle_data(self, data):
        self.texts.append(data)

    @property
    def scripts_inline(self) -> list[dict[str, str]]:
        return [attrs for tag, attrs in self.elements if tag == "script" and "src" not in attrs]

    def shows(self, text: str) -> bool:
        """Whether ``text`` is on the page as written: in its text or as an attribute's value."""
        flat = re.sub(r"\s+", " ", "".join(self.texts))
        values = (value for _, attrs in self.elements for value in attrs.values())
        return " ".join(text.split()) in flat or any(text in value for value in values)


def assert_inert(html: str, *shown: str, where: str = "") -> Page:
    """Fail if the page holds anything a payload could have made; each of ``shown`` is on it."""
    page = Page(html)
    for tag, attrs in page.elements:
        assert "data-injected" not in attrs, (tag, attrs)
        # (Flask-Admin's own templates have an onclick and javascript:void(0) links.)
        assert not {"onerror", "onmouseover"} & attrs.keys(), (tag, attrs)
        assert not (tag == "img" and attrs.get("src") == "x"), attrs
        for name in URL_ATTRIBUTES & attrs.keys():
            url = attrs[name].strip().lower()
            assert not url.startswith("javascript:") or url == "javascript:void(0)", attrs
    assert not page.scripts_inline, page.scripts_inline
    for text in shown:
        assert page.shows(text), f"{where}: {text!r} is not shown as written"
    return page


def main_navigation(page: Page) -> list[dict[str, str]]:
    return [a for tag, a in page.elements if tag == "nav" and "navbar" in a.get("class", "")]


def html_of(browser, url: str, status: int = 200, **kwargs) -> str:
    response = browser.get(url, **kwargs)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


@pytest.fixture
def staff(app, browser):
    person = make_user("staff@example.com", roles=("staff", "admin", "translator"), locale="en")
    browser.login(person.email)
    return person


USER_PAGES = [
    "/appointments/",
    "/appointments/{id}/",
    "/appointments/{id}/edit/",
    "/calendar/month/2026/6/",
    "/calendar/week/2026/6/10/",
    "/calendar/day/2026/6/10/",
    "/calendar/agenda/?start=2026-06-01",
]
ADMIN_PAGES = [
    "/admin/appointments/",
    "/admin/appointments/?search={search}",
    "/admin/appointments/details/?id={id}",
    "/admin/appointments/edit/?id={id}",
    "/admin/users/",
    "/admin/users/edit/?id={owner}",
    "/admin/users/details/?id={owner}",
    "/admin/audit/",
]


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_what_a_user_writes_is_text_on_every_page(app, browser, payload):
    owner = make_user("owner@example.com", full_name=payload, timezone="UTC")
    browser.login(owner.email)
    form = browser.submit("/appointments/create/", {
        "title": payload,
        "start": "2026-06-10T09:00",
        "end": "2026-06-10T10:00",
        "location": payload,
        "description": payload,
    }, follow_redirects=True)
    assert form.status_code == 200
    assert_inert(form.get_data(as_text=True), f"Appointment “{payload}” created.")
    appointment = db.session.scalars(db.select(Appointment)).one()
    assert (appointment.title, appointment.location, appointment.description) == (payload,) * 3

    for url in USER_PAGES:
        html = html_of(browser, url.format(id=appointment.id))
        assert_inert(html, payload, where=url)
    assert_inert(html_of(browser, "/account/"), payload)

    browser.logout()
    make_user("staff@example.com", roles=("staff", "admin"), locale="en")
    browser.login("staff@example.com")
    with app.test_request_context("/admin/"):
        audit.record_change(appointment, created=True)
    db.session.commit()
    for url in ADMIN_PAGES:
        url = url.format(id=appointment.id, owner=owner.id, search=quote(payload))
        html = html_of(browser, url)
        assert_inert(html, payload, where=url)
    [entry] = db.session.scalars(db.select(AuditEntry).filter_by(object_type="Appointment")).all()
    assert_inert(html_of(browser, f"/admin/audit/details/?id={entry.id}"), payload)


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_an_appointment_named_by_a_payload_can_be_deleted_with_its_name_in_the_message(
    logged_in, user, payload
):
    appointment = make_appointment(user, title=payload, start=START, end=START + timedelta(hours=1))
    html = html_of(logged_in, f"/appointments/{appointment.id}/")
    page = assert_inert(html, payload)
    [button] = [a for t, a in page.elements if "js-delete-appointment" in a.get("class", "")]
    assert button["data-confirm"] == f"Delete the appointment “{payload}”?"
    token = re.search(r'name="csrf-token" content="([^"]+)"', html).group(1)
    response = logged_in.delete(f"/appointments/{appointment.id}/delete/", token=token)
    assert response.status_code == 200
    assert_inert(html_of(logged_in, "/appointments/"), f"Appointment “{payload}” deleted.")


def ics_line(name: str, value: str, params: str = "") -> str:
    """A content line whose text value is escaped as RFC 5545 says (\\, ; , and line breaks)."""
    escaped = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return f"{name}{params}:{escaped}"


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_what_an_imported_file_says_is_text_in_the_preview_and_after(logged_in, user, payload):
    quoted = payload.replace('"', "'")  # a parameter value cannot hold a double quote
    data = ics(
        "\n".join([
            ics_line("SUMMARY", payload),
            ics_line("LOCATION", payload),
            ics_line("DESCRIPTION", payload),
            f'ORGANIZER;CN="{quoted}":mailto:organizer@example.com',
            "DTSTART:20260610T090000Z",
            "DTEND:20260610T100000Z",
        ]),
        f'SUMMARY:Zone\nDTSTART;TZID="{quoted}":20260611T090000\nDTEND:20260611T100000Z',
    )
    preview = upload(logged_in, data)
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    assert_inert(html, payload, f"Its time zone “{quoted}” is unknown or cannot be used.")

    added = confirm(logged_in, html)
    assert_inert(added.get_data(as_text=True), "1 appointment added.")
    for url in USER_PAGES[:1] + USER_PAGES[3:]:
        assert_inert(html_of(logged_in, url), payload)
    assert quoted not in html_of(logged_in, "/appointments/").replace(payload, "")


def test_the_pen_test_time_zone_adds_no_element_to_the_preview(logged_in):
    """The probe: a TZID holding a meta refresh, reported in the "skipped" reason."""
    zone = "<meta http-equiv=refresh content=0;url=http://127.0.0.1:9/>"
    data = ics(f'SUMMARY:Zone\nDTSTART;TZID="{zone}":20260611T090000\nDTEND:20260611T100000Z')
    html = upload(logged_in, data).get_data(as_text=True)
    page = assert_inert(html, f"Its time zone “{zone}” is unknown or cannot be used.")
    assert [attrs for tag, attrs in page.elements if tag == "meta" and "http-equiv" in attrs] == []


# ----------------------------------------------------------------------------------------------
# Translations: a catalog changed on disk, past the console's checks
# ----------------------------------------------------------------------------------------------


@pytest.fixture
def app_overrides(writable_translations):
    return {"BABEL_TRANSLATION_DIRECTORIES": str(writable_translations)}


def translate(directory, language: str, **translations: str) -> None:
    with catalogs.editing(language, directory) as catalog:
        for source, text in translations.items():
            catalog[source].string = text


NAV_BREAKOUT = 'Hauptnavigation" data-create-url="http://127.0.0.1:9/phish" data-injected="nav'


def test_the_pen_test_translation_of_the_navigation_stays_in_its_attribute(
    client, writable_translations
):
    translate(writable_translations, "de", **{"Main navigation": NAV_BREAKOUT})
    html = html_of(client, "/login", headers={"Accept-Language": "de"})
    page = assert_inert(html)
    [nav] = main_navigation(page)
    assert nav == {"class": nav["class"], "aria-label": NAV_BREAKOUT}
    assert not [attrs for _, attrs in page.elements if "data-create-url" in attrs]


UNKNOWN_ZONE = "Its time zone “%(zone)s” is unknown or cannot be used."
# Strings the pages show as text, in attributes (aria-label, title) and as lazy strings (form
# labels; the import's reasons, formatted with a value from the file).
TRANSLATED = ("Calendar", "Main navigation", "Skip to main content", "Toggle navigation", "Name",
              "Time zone", UNKNOWN_ZONE)


def shown_as(translation: str, source: str, **values: str) -> str:
    """What a page shows for a translation: the source's text if the translation does not format."""
    try:
        return translation % values
    except (KeyError, ValueError, TypeError):
        return source % values


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_what_a_translator_writes_is_text_in_text_and_in_attributes(
    logged_in, user, writable_translations, payload
):
    translate(writable_translations, "de", **{s: f"{payload} {s}" for s in TRANSLATED})
    user.locale = "de"
    db.session.commit()
    expected = {source: shown_as(f"{payload} {source}", source) for source in TRANSLATED[:-1]}
    for url in ("/account/", "/calendar/month/2026/6/", "/appointments/"):
        assert_inert(html_of(logged_in, url), *[expected[s] for s in TRANSLATED[:3]])
    assert_inert(html_of(logged_in, "/account/"), expected["Name"], expected["Time zone"])

    zone = "<i data-injected='zone'>Nowhere</i>"
    data = ics(f'SUMMARY:Zone\nDTSTART;TZID="{zone}":20260611T090000\nDTEND:20260611T100000Z')
    preview = upload(logged_in, data).get_data(as_text=True)
    assert_inert(preview, shown_as(f"{payload} {UNKNOWN_ZONE}", UNKNOWN_ZONE, zone=zone))


def test_a_translation_that_cannot_be_formatted_shows_the_original(
    logged_in, user, writable_translations
):
    """A placeholder the source lacks, or a lone %, would otherwise break each page using it."""
    translate(writable_translations, "de", **{
        "Appointment “%(title)s” created.": "Termin %(name)s erstellt 100 %",
        "Main navigation": "Haupt %(x)s navigation %",
    })
    user.locale = "de"
    db.session.commit()
    response = logged_in.submit("/appointments/create/", {
        "title": "Zahnarzt", "start": "2026-06-10T09:00", "end": "2026-06-10T10:00",
    }, follow_redirects=True)
    assert response.status_code == 200
    page = assert_inert(response.get_data(as_text=True), "Appointment “Zahnarzt” created.")
    [nav] = main_navigation(page)
    assert nav["aria-label"] == "Main navigation"


def test_translations_in_the_admin_filter_menu_are_text_not_html(app, browser):
    """Flask-Admin hands its filter menu to the page as JSON, which its script shows as text."""
    make_user("staff@example.com", roles=("staff", "admin"), locale="fr")
    browser.login("staff@example.com")
    html = html_of(browser, "/admin/audit/")
    data = re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', html, re.S).group(1)
    groups = json.loads(data)
    assert "Type d'objet" in groups
    [what] = groups["Quoi"]
    assert ["confirm", "Confirmation de l'adresse email"] in what["options"]
    # The app's own JSON writes a lazy translation as its text too, not as escaped HTML.
    with app.test_request_context(headers={"Accept-Language": "fr"}):
        label = lazy_gettext("Object type")
        assert app.json.dumps({"label": label}) == '{"label": "Type d\'objet"}'


@pytest.mark.parametrize("payload", PAYLOADS.values(), ids=PAYLOADS.keys())
def test_a_reminder_e_mail_is_plain_text_with_everything_as_written(app, outbox, payload):
    """E-mails are text: nothing in them is escaped, the user's words or the translation's."""
    owner = make_user("fanny@example.com", locale="fr", full_name=payload, timezone="UTC")
    start = (datetime.now(timezone.utc) + timedelta(minutes=30)).replace(microsecond=0)
    make_appointment(owner, title=payload, location=payload, start=start,
                     end=start + timedelta(hours=1), reminder_minutes=60)
    assert send_reminders() == 1
    [message] = outbox
    assert f"Bonjour {payload}," in message.body
    assert f"\n{payload}\n" in message.body
    assert f"Lieu : {payload}" in message.body
    assert "rendez-vous" in message.body
    assert "&#" not in message.body and "&amp;" not in message.body
    assert payload in message.subject
