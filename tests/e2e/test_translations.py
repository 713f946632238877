"""Languages in a real browser: a visitor switches language from the menu, and a translator
fixes an entry in the console and sees it on the public pages at once, while a translation
with a wrong placeholder or a script is refused."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from app.core import catalogs
from app.extensions import db
from tests.support.e2e import arrive, log_in_and_load
from tests.support.factories import make_user

pytestmark = pytest.mark.browser

TRANSLATOR = "tina.translator@example.com"
FOOTER = "sched: appointments, kept simply."


@pytest.fixture
def app_overrides(writable_translations):
    return {"BABEL_TRANSLATION_DIRECTORIES": str(writable_translations)}


def choose_language(page: Page, name: str) -> None:
    page.click("#language-menu")
    page.get_by_role("button", name=name).click()
    page.wait_for_load_state("load")


def test_a_visitor_switches_language_from_the_menu_and_it_is_remembered(page: Page):
    page.goto("/login")
    expect(page.locator("h1")).to_have_text("Log in")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    choose_language(page, "Deutsch")
    expect(page).to_have_url(re.compile(r"/login$"))  # back where the visitor was
    expect(page.locator("html")).to_have_attribute("lang", "de")
    expect(page.locator("nav.navbar").get_by_role("link", name="Registrieren")).to_be_visible()

    page.goto("/register")  # the choice lasts for the next pages
    expect(page.locator("html")).to_have_attribute("lang", "de")

    choose_language(page, "Español")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page).to_have_url(re.compile(r"/register$"))


def test_a_translator_fixes_an_entry_and_the_public_page_shows_it_at_once(
    page: Page, new_context, live_server, writable_translations
):
    with live_server.app.app_context():
        make_user(TRANSLATOR, roles=("translator",), locale="en")
        db.session.remove()
    french = catalogs.read_catalog(catalogs.po_path("fr", writable_translations), "fr")
    before = french.get(FOOTER).string

    # A French-speaking visitor, in a browser of their own.
    visitor = new_context(locale="fr-FR").new_page()
    visitor.goto("/login")
    expect(visitor.locator("footer")).to_have_text(before)

    log_in_and_load(page, TRANSLATOR)
    page.goto("/admin/translations/")
    arrive(page, re.compile(r"/admin/translations/$"))
    page.get_by_role("link", name="Français").click()
    arrive(page, re.compile(r"/admin/translations/fr/$"))

    page.fill("#q", "kept simply")
    page.press("#q", "Enter")
    arrive(page, re.compile(r"/admin/translations/fr/\?status=all&q=kept\+simply$"))
    entry = page.locator(".entry")
    expect(entry).to_have_count(1)
    expect(entry.locator(".source")).to_contain_text(FOOTER)
    expect(entry.locator(".locations")).to_contain_text("app/templates/base.html")

    # A wrong placeholder is refused, with the reason, and nothing changes.
    entry.locator("textarea").fill("Vos rendez-vous, %(nom)s.")
    entry.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    expect(page.locator(".entry-errors")).to_contain_text("Placeholders not in the original: %(nom)s")
    expect(page.locator("textarea")).to_have_value("Vos rendez-vous, %(nom)s.")

    # So is a script.
    page.locator("textarea").fill("Vos rendez-vous<script>alert(1)</script>")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    expect(page.locator(".entry-errors")).to_contain_text("HTML not in the original")
    visitor.reload()
    expect(visitor.locator("footer")).to_have_text(before)

    # The right text is saved, and the visitor sees it on the next page they load.
    page.locator("textarea").fill("Vos rendez-vous, tout simplement.")
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state("load")
    expect(page.locator(".alert-success")).to_contain_text("Saved")
    visitor.reload()
    expect(visitor.locator("footer")).to_have_text("Vos rendez-vous, tout simplement.")

    # Its history shows who changed what; reverting brings the old text back.
    arrive(page, re.compile(r"/admin/translations/fr/\?status=all&q=kept\+simply$"))
    page.locator(".entry").get_by_role("link", name="History").click()
    arrive(page, re.compile(r"/admin/translations/fr/[0-9a-f]{16}/$"))
    expect(page.locator("#history")).to_contain_text(TRANSLATOR)
    expect(page.locator("#history .old").first).to_have_text(before)
    page.get_by_role("button", name="Revert to before").first.click()
    page.wait_for_load_state("load")
    visitor.reload()
    expect(visitor.locator("footer")).to_have_text(before)
    visitor.close()
