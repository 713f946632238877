"""Which language a page is in: saved preference, then the menu, then the browser, then English."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from tests.support.factories import make_appointment, make_user


def lang_of(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def choose(browser, language, next_url="/login", **extra):
    return browser.submit("/language", {"language": language, "next": next_url, **extra})


def test_the_browsers_language_among_the_supported_ones_else_english(client):
    assert lang_of(client.get("/login", headers={"Accept-Language": "de-AT,de;q=0.9"})) == "de"
    assert lang_of(client.get("/login", headers={"Accept-Language": "it, fr;q=0.5"})) == "fr"
    assert lang_of(client.get("/login", headers={"Accept-Language": "it, ja"})) == "en"
    assert lang_of(client.get("/login", headers={"Accept-Language": "../../etc/passwd"})) == "en"
    assert lang_of(client.get("/login")) == "en"


def test_the_menu_choice_beats_the_browser_and_is_remembered(browser):
    response = choose(browser, "es")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    page = browser.get("/register", headers={"Accept-Language": "de"})
    assert lang_of(page) == "es"
    assert "Registrarse" in html_lib.unescape(page.get_data(as_text=True))


@pytest.mark.parametrize("language", ["xx", "../fr", "", "en_US", "FR"])
def test_an_unknown_language_is_refused_and_changes_nothing(browser, language):
    response = choose(browser, language)
    assert response.status_code == 400
    assert "This language is not available." in response.get_data(as_text=True)
    assert lang_of(browser.get("/login", headers={"Accept-Language": "fr"})) == "fr"


def test_the_menu_needs_the_csrf_token(client):
    response = client.post("/language", data={"language": "de"})
    assert response.status_code == 400
    assert lang_of(client.get("/login")) == "en"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)", "login",
])
def test_the_menu_only_sends_back_to_this_site(browser, target):
    response = choose(browser, "fr", next_url=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_a_users_saved_language_wins_and_the_menu_changes_it(app, browser):
    make_user("vera@example.com", locale="de")
    browser.login("vera@example.com")
    assert lang_of(browser.get("/appointments/", headers={"Accept-Language": "fr"})) == "de"
    choose(browser, "fr", next_url="/appointments/")
    db.session.expire_all()
    assert db.session.scalar(select(User.locale).filter_by(email="vera@example.com")) == "fr"
    assert lang_of(browser.get("/appointments/")) == "fr"


def test_the_libraries_own_strings_follow_the_same_language(app, browser):
    """Flask-Security's pages and Flask-Admin's buttons come from their own catalogs."""
    login = html_lib.unescape(browser.get("/login", headers={"Accept-Language": "de"}).get_data(as_text=True))
    assert "Passwort" in login  # Flask-Security's German label
    make_user("sam@example.com", roles=("staff",), locale="fr")
    browser.login("sam@example.com")
    admin = html_lib.unescape(browser.get("/admin/appointments/").get_data(as_text=True))
    assert "Liste" in admin and "Créer" in admin  # Flask-Admin's French tab names


def test_dates_and_script_messages_are_in_the_users_language(app, browser):
    owner = make_user("dora@example.com", locale="de", timezone="Europe/Berlin")
    from datetime import datetime, timezone

    make_appointment(owner, title="Zahnarzt", start=datetime(2026, 3, 2, 9, tzinfo=timezone.utc))
    browser.login("dora@example.com")
    month = html_lib.unescape(browser.get("/calendar/month/2026/3/").get_data(as_text=True))
    assert "März 2026" in month
    assert re.search(r">\s*Mo\.?\s*<", month)  # the week starts on Monday, named in German
    listing = html_lib.unescape(browser.get("/appointments/").get_data(as_text=True))
    confirm = re.search(r'data-confirm="([^"]+)"', listing).group(1)
    assert "Zahnarzt" in confirm and "Delete" not in confirm
