"""Every redirect the site makes to an address a user supplied stays on the site (issue 21,
kept as regression tests): the login's and logout's ``next``, re-authentication's ``next``, the
language menu's ``next``, the translation console's ``next`` and Flask-Admin's ``url``.

Each Location is followed the way a browser's URL parser (WHATWG) reads it: leading and
trailing spaces and control characters dropped, tabs and line breaks removed anywhere,
backslashes taken for slashes, then resolved against the address of the request.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import pytest

from app.accounts.models import ROLE_ADMIN
from tests.admin.test_translations import FOOTER, save
from tests.support.browser import Browser
from tests.support.factories import PASSWORD, appointment_form, make_appointment, make_user

SITE = "localhost"  # the test client's host
# As the report lists them, each as the server receives it; a value sent with its
# percent-escapes unread is the next entry (/%09/ is a tab, /%2F%2F two slashes).
TARGETS = [
    "/%09/evil.example",
    "/.//evil.example",
    "/%2F%2Fevil.example",
    "/\\evil.example/",
    "\\\\evil.example/",
    "//evil.example",
    "https://evil.example",
    "/\t/evil.example",
    "javascript:alert(1)",
]
VALUES = sorted(set(TARGETS) | {unquote(target) for target in TARGETS})
# A page of this site, which each flow must reach: proof that the request was one that
# redirects (the right form, token and password), so that the others prove something too.
HOME = "/appointments/?page=1"
C0_AND_SPACE = "".join(map(chr, range(0x21)))


def as_a_browser_resolves(request_url: str, location: str) -> str:
    cleaned = re.sub("[\t\n\r]", "", location.strip(C0_AND_SPACE)).replace("\\", "/")
    return urljoin(request_url, cleaned)


def assert_stays_on_the_site(response, request_url: str, value: str) -> None:
    """A redirect to this site, or a refusal without any redirect (400: Flask-Security's forms
    refuse a foreign ``next``, and every page a control character in an address)."""
    if response.status_code == 400 and value != HOME:
        assert "Location" not in response.headers
        return
    assert response.status_code in (301, 302, 303, 307, 308), response.status_code
    target = urlsplit(as_a_browser_resolves(request_url, response.headers["Location"]))
    assert target.scheme in ("http", "https") and target.hostname == SITE, (
        response.headers["Location"], target.geturl()
    )
    if value == HOME:
        assert (target.path, target.query) == ("/appointments/", "page=1")


@pytest.fixture
def app_overrides(writable_translations):
    return {"BABEL_TRANSLATION_DIRECTORIES": str(writable_translations)}


@pytest.fixture
def admin(browser):
    make_user("admin@example.com", roles=(ROLE_ADMIN,))
    browser.login("admin@example.com")
    return browser


def query(path: str, **params) -> str:
    """``path`` with ``params`` in its query string, each value exactly as given."""
    return f"{path}?{urlencode(params)}"


@pytest.mark.parametrize("value", [HOME, *VALUES])
def test_logging_in(app, user, value):
    for url, extra in ((query("/login", next=value), {}), ("/login", {"next": value})):
        browser = Browser(app.test_client())
        response = browser.submit(url, {"email": user.email, "password": PASSWORD, **extra},
                                  form_url="/login")
        assert_stays_on_the_site(response, f"http://{SITE}{url}", value)


@pytest.mark.parametrize("value", VALUES)
def test_the_login_page_when_logged_in(logged_in, value):
    """Flask-Security sends a logged-in visitor of the login page to the list, next or not."""
    url = query("/login", next=value)
    assert_stays_on_the_site(logged_in.get(url), f"http://{SITE}{url}", value)


@pytest.mark.parametrize("value", [HOME, *VALUES])
def test_logging_out(app, user, value):
    for url, extra in ((query("/logout", next=value), {}), ("/logout", {"next": value})):
        browser = Browser(app.test_client())
        browser.login(user.email)
        response = browser.submit(url, extra, form_url="/appointments/")
        assert_stays_on_the_site(response, f"http://{SITE}{url}", value)


@pytest.mark.parametrize("value", [HOME, *VALUES])
def test_re_authenticating(logged_in, value):
    url = query("/verify", next=value)
    response = logged_in.submit(url, {"password": PASSWORD}, form_url="/verify")
    assert_stays_on_the_site(response, f"http://{SITE}{url}", value)


@pytest.mark.parametrize("value", [HOME, *VALUES])
def test_the_language_menu(browser, value):
    response = browser.submit("/language", {"language": "fr", "next": value}, form_url="/login")
    assert_stays_on_the_site(response, f"http://{SITE}/language", value)


@pytest.mark.parametrize("value", [HOME, *VALUES])
def test_the_admin_panels_return_address(admin, user, value):
    appointment = make_appointment(user)
    edit = query("/admin/appointments/edit/", id=appointment.id, url=value)
    response = admin.submit(edit, appointment_form(owner=str(user.id), version="1"),
                            form_url=f"/admin/appointments/edit/?id={appointment.id}")
    assert_stays_on_the_site(response, f"http://{SITE}{edit}", value)

    new = query("/admin/appointments/new/", url=value)
    response = admin.submit(new, appointment_form(owner=str(user.id)),
                            form_url="/admin/appointments/new/")
    assert_stays_on_the_site(response, f"http://{SITE}{new}", value)

    for url, data in (
        # A bulk delete asks first, on a page of its own; confirmed, it goes back.
        ("/admin/appointments/action/",
         {"action": "delete", "rowid": [str(appointment.id)], "confirmed": "1"}),
        ("/admin/appointments/delete/", {"id": str(make_appointment(user).id)}),
    ):
        response = admin.submit(url, {**data, "url": value}, form_url="/admin/appointments/")
        assert_stays_on_the_site(response, f"http://{SITE}{url}", value)


@pytest.mark.parametrize("value", [HOME, *VALUES])
def test_the_translation_consoles_way_back(admin, writable_translations, value):
    response = save(admin, writable_translations, FOOTER, "Vos rendez-vous.", next=value)
    assert_stays_on_the_site(response, f"http://{SITE}/admin/translations/", value)
