"""One word for logging in, and Flask-Security's texts as sched's own: in sched's catalog,
where the translators (and the translation console) can change them."""

from __future__ import annotations

import re

import pytest
from babel.messages.catalog import Catalog

from app import create_app
from app.accounts.messages import FIELD_LABELS, MESSAGES
from app.core import catalogs
from app.core.cli import extract_template
from app.extensions import db
from tests.support.browser import Browser, text
from tests.support.factories import make_user

PAGES = ["/", "/login", "/register", "/reset", "/confirm"]
LOGGED_IN_PAGES = ["/appointments/", "/account/", "/change", "/appointments/create/"]
OTHER_TERMS = re.compile(r"\b(Sign[ -]?in|Sign[ -]?out|Log[ -]?on|Login|Logout)\b", re.I)


def visible_text(html: str) -> str:
    """The page's words, without its tags and their attributes (URLs say /login)."""
    return re.sub(r"<[^>]*>", " ", html)


def test_every_page_says_log_in_and_log_out_only(browser, user):
    pages = [text(browser.get(url)) for url in PAGES]
    assert "Log in" in pages[1]
    browser.login(user.email)
    pages += [text(browser.get(url)) for url in LOGGED_IN_PAGES]
    assert "Log out" in pages[-1]
    for url, page in zip(PAGES + LOGGED_IN_PAGES, pages, strict=True):
        assert not OTHER_TERMS.findall(visible_text(page)), url


def test_the_login_form_reads_in_our_words(browser):
    page = text(browser.get("/login"))
    assert '<h1 class="h3 mb-3">Log in</h1>' in page
    for label in ("E-mail address", "Password", "Remember me"):
        assert f">{label}</label>" in page
    assert 'value="Log in"' in page and "Remember Me" not in page


def test_flask_securitys_texts_are_in_sched_s_catalog():
    template = extract_template()
    ours = {message.id for message in catalogs.entries(template)}
    expected = {str(text._args[0]) for text, _ in MESSAGES.values()}
    expected |= {str(label._args[0]) for label in FIELD_LABELS.values()}
    expected |= {"Log in", "Remember me", "Send the confirmation link again"}
    assert expected <= ours, expected - ours


@pytest.fixture
def spanish_app(database_url, writable_translations):
    """The app on a copy of the catalogs in which a translator changed two of those texts."""
    path = catalogs.po_path("es", writable_translations)
    catalog: Catalog = catalogs.read_catalog(path, "es")
    for msgid, translated in [
        ("Remember me", "No me olvides"),
        ("Authentication failed: the e-mail address or the password is wrong.",
         "No ha funcionado: revisa la dirección y la contraseña."),
    ]:
        catalog.add(msgid)  # kept as it is if the catalog has it already: then changed
        catalog.get(msgid).string = translated
    catalogs.compile_catalog(catalog, "es", writable_translations)
    app = create_app(
        "testing",
        {"SQLALCHEMY_DATABASE_URI": database_url,
         "BABEL_TRANSLATION_DIRECTORIES": str(writable_translations)},
    )
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


def test_a_translation_in_sched_s_catalog_is_what_the_login_page_shows(spanish_app):
    make_user("ana@example.com")
    browser = Browser(spanish_app.test_client())
    headers = {"Accept-Language": "es"}
    page = text(browser.client.get("/login", headers=headers))
    assert ">No me olvides</label>" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    token = token or re.search(r'name="csrf_token" value="([^"]+)"', page)
    refused = browser.client.post(
        "/login",
        data={"csrf_token": token.group(1), "email": "ana@example.com", "password": "wrong!"},
        headers=headers,
    )
    assert "No ha funcionado: revisa la dirección y la contraseña." in text(refused)
