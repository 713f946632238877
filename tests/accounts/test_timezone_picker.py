"""The time zone picker: current zone names grouped by region, each with its city in the
user's language and its offset; an old name someone saved stays theirs."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from babel import Locale

from app.core.timezones import offered_timezone_names, offered_zone_for_links, timezone_choices
from app.extensions import db
from tests.support.browser import text
from tests.support.queries import find_user


def options(html: str) -> dict[str, str]:
    select = re.search(r'<select[^>]*name="timezone".*?</select>', html, re.S).group(0)
    return dict(re.findall(r'<option[^>]*value="([^"]+)"[^>]*>([^<]*)</option>', select))


def groups(html: str) -> list[str]:
    select = re.search(r'<select[^>]*name="timezone".*?</select>', html, re.S).group(0)
    return re.findall(r'<optgroup label="([^"]+)">', select)


def test_the_register_form_offers_current_zones_by_region_with_cities_and_offsets(browser):
    page = text(browser.get("/register"))
    offered = options(page)
    assert groups(page)[:3] == ["Universal time", "Africa", "America"]
    assert "Europe" in groups(page) and "Pacific Ocean" in groups(page)
    assert set(offered) == set(offered_timezone_names())
    assert 350 < len(offered) < 500
    # Old names, Etc/GMT+5 (which is UTC−5) and the like are not offered.
    for name in ("US/Eastern", "Asia/Calcutta", "Europe/Kiev", "Etc/GMT+5", "GMT", "EST"):
        assert name not in offered
    assert re.fullmatch(r"Berlin \(GMT\+0[12]:00\)", offered["Europe/Berlin"])
    assert offered["America/Argentina/Buenos_Aires"].startswith("Buenos Aires (GMT-03:00")
    assert offered["Asia/Kolkata"] == "Kolkata (GMT+05:30)"
    assert offered["UTC"] == "UTC"


def test_cities_are_in_the_users_language():
    january = datetime(2026, 1, 15, tzinfo=UTC)
    german = timezone_choices(Locale("de"), now=january)
    assert ("Europe/Vienna", "Wien (GMT+01:00)") in german["Europe"]
    spanish = timezone_choices(Locale("es"), now=january)
    assert ("Europe/Berlin", "Berlín (GMT+01:00)") in spanish["Europe"]
    # The summer's offset in July.
    july = timezone_choices(Locale("en"), now=datetime(2026, 7, 15, tzinfo=UTC))
    assert ("Europe/Berlin", "Berlin (GMT+02:00)") in july["Europe"]


def test_old_names_a_browser_may_give_lead_to_the_offered_zone():
    links = offered_zone_for_links()
    assert links["Asia/Calcutta"] == "Asia/Kolkata"
    assert links["Europe/Kiev"] == "Europe/Kyiv"
    assert links["America/Buenos_Aires"] == "America/Argentina/Buenos_Aires"
    assert not set(links) & set(offered_timezone_names())


def test_registering_with_a_current_zone_works_and_an_old_name_is_refused(browser, outbox):
    form = {
        "email": "new@example.com", "full_name": "Nina", "password": "twelve chars ok",
        "password_confirm": "twelve chars ok", "locale": "en",
    }
    refused = browser.submit("/register", {**form, "timezone": "Etc/GMT+5"})
    assert refused.status_code == 400 and "Not a valid choice" in text(refused)
    assert browser.submit("/register", {**form, "timezone": "Asia/Kolkata"}).status_code == 302
    assert find_user("new@example.com").timezone == "Asia/Kolkata"


def test_a_saved_old_name_stays_selected_and_can_be_saved_again(logged_in, user):
    user.timezone = "US/Eastern"
    db.session.commit()
    page = text(logged_in.get("/account/"))
    assert groups(page)[0] == "Your saved time zone"
    assert re.search(r'<option selected value="US/Eastern">US/Eastern \(GMT-0[45]:00\)</option>',
                     page), page
    saved = logged_in.submit("/account/", {
        "full_name": "Olive Owner", "locale": "en", "timezone": "US/Eastern",
        "reminder_minutes_default": "",
    })
    assert saved.status_code == 302
    assert find_user(user.email).timezone == "US/Eastern"
    # Another user's old name is not on offer to this one.
    refused = logged_in.submit("/account/", {
        "full_name": "Olive Owner", "locale": "en", "timezone": "Asia/Calcutta",
        "reminder_minutes_default": "",
    })
    assert refused.status_code in (200, 400) and "Not a valid choice" in text(refused)
