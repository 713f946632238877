"""Cache-Control as a cache reads it: pages with personal data are never kept, static files
are kept long under addresses that change with their content."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.support.factories import make_appointment, make_user

STATIC = Path(__file__).resolve().parents[2] / "app" / "static"


def directives(header: str | None) -> dict[str, str | None]:
    """The header's directives, each a bare token or token=value (RFC 9111, section 5.2)."""
    assert header, "no Cache-Control"
    found = {}
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        assert re.fullmatch(r"[a-z-]+", name), f"not a directive: {part!r} in {header!r}"
        found[name] = value.strip('"') or None
    return found


def assert_not_stored(response, url: str) -> None:
    found = directives(response.headers.get("Cache-Control"))
    assert "no-store" in found and found["no-store"] is None, (url, found)
    assert "public" not in found, (url, found)


@pytest.fixture
def everyone(app):
    owner = make_user("owner@example.com", timezone="UTC")
    start = datetime(2026, 6, 10, 9, tzinfo=timezone.utc)
    appointment = make_appointment(owner, title="Dentist", start=start)
    make_user("staff@example.com", roles=("staff", "admin", "translator"))
    return owner, appointment


ANONYMOUS_PAGES = ["/", "/login", "/register", "/reset", "/confirm", "/no-such-page"]
USER_PAGES = [
    "/appointments/", "/appointments/{id}/", "/appointments/{id}/edit/", "/appointments/create/",
    "/calendar/month/2026/6/", "/calendar/week/2026/6/10/", "/calendar/day/2026/6/10/",
    "/calendar/agenda/", "/calendar/import/", "/account/", "/change",
    "/appointments/{id}/ics", "/appointments/999999/",
]
STAFF_PAGES = [
    "/admin/", "/admin/appointments/", "/admin/appointments/edit/?id={id}",
    "/admin/appointments/details/?id={id}", "/admin/users/", "/admin/audit/",
    "/admin/translations/", "/admin/translations/fr/", "/admin/appointments/export/csv/",
]


def test_no_page_with_personal_data_is_kept_by_any_cache(browser, everyone):
    owner, appointment = everyone
    for url in ANONYMOUS_PAGES:
        assert_not_stored(browser.get(url), url)
    # The login form's answer too, wrong or right.
    assert_not_stored(browser.submit("/login", {"email": owner.email, "password": "wrong"}),
                      "POST /login")
    browser.login(owner.email)
    for url in USER_PAGES:
        url = url.format(id=appointment.id)
        assert_not_stored(browser.get(url), url)
    browser.logout()
    browser.login("staff@example.com")
    for url in STAFF_PAGES:
        url = url.format(id=appointment.id)
        assert_not_stored(browser.get(url), url)


def test_static_files_are_linked_by_content_and_kept_a_year(client):
    html = client.get("/login").get_data(as_text=True)
    linked = re.findall(r'(?:href|src)="(/static/[^"?]+)\?v=([0-9a-f]+)"', html)
    assert {path for path, _ in linked} >= {"/static/css/app.css", "/static/js/app.js"}
    for path, version in linked:
        content = (STATIC / path.removeprefix("/static/")).read_bytes()
        assert version == hashlib.sha256(content).hexdigest()[:12], path
        found = directives(client.get(f"{path}?v={version}").headers["Cache-Control"])
        assert found == {"public": None, "max-age": "31536000", "immutable": None}, path
    # Asked for without a version, a file is kept a day only: its address names no content.
    found = directives(client.get("/static/css/app.css").headers["Cache-Control"])
    assert found.get("max-age") == "86400" and "immutable" not in found


def test_flask_admins_static_files_carry_its_release_and_are_kept_a_year(browser, everyone):
    browser.login("staff@example.com")
    html = browser.get("/admin/appointments/").get_data(as_text=True)
    [path] = re.findall(r'src="(/admin/static/[^"]+\?v=[^"]+)"', html)[:1]
    found = directives(browser.get(path).headers["Cache-Control"])
    assert "immutable" in found and found["max-age"] == "31536000"
