"""Every admin endpoint, for every kind of user: built from the URL map, so no view is missed."""

from __future__ import annotations

import pytest

from tests.support.factories import make_user

ROLES = {
    "anonymous": None,
    "user": (),
    "translator": ("translator",),
    "staff": ("staff",),
    "admin": ("admin",),
}
# Flask-Admin methods that change data; everything else only reads.
WRITE_METHODS = {"create_view", "edit_view", "delete_view", "action_view", "ajax_update",
                 "entry", "revert", "upload"}


def admin_views(app):
    return app.extensions["admin"][0]._views


def admin_endpoints(app):
    """Yield (view, method name, URL, HTTP methods) for every rule of every admin view."""
    for view in admin_views(app):
        for rule in app.url_map.iter_rules():
            prefix, _, method = rule.endpoint.partition(".")
            if prefix != view.endpoint or method == "static":
                continue
            args = {name: "1" for name in rule.arguments}
            url = rule.rule
            for converter in ("int", "id", "path", "string"):
                url = url.replace(f"<{converter}:", "<")
            for name, value in args.items():
                url = url.replace(f"<{name}>", value)
            if "<" in url:
                url = url.split("<", 1)[0]
            yield view, method, url, rule.methods


def can(view, role: str, write: bool) -> bool:
    """What the permissions in the database (migration 0003) promise this role."""
    from app.accounts.models import ADMIN_PANEL, ROLE_PERMISSIONS

    granted = ROLE_PERMISSIONS.get(role, [])
    if ADMIN_PANEL not in granted or view.read_permission not in granted:
        return False
    return not write or (view.write_permission in granted)


@pytest.mark.parametrize("role", list(ROLES))
def test_every_admin_endpoint_checks_access(app, browser, role):
    if ROLES[role] is not None:
        make_user(f"{role}@example.com", roles=ROLES[role])
        browser.login(f"{role}@example.com")
    checked = 0
    seen = set()
    for view, method, url, http_methods in admin_endpoints(app):
        write = method in WRITE_METHODS
        seen.add(view.endpoint)
        checked += 1
        if "GET" not in http_methods:
            response = None
        else:
            response = browser.get(url)
        if response is None:
            pass
        elif role == "anonymous":
            assert response.status_code == 302, (url, response.status_code)
            assert response.headers["Location"].startswith("/login?next="), url
        elif not can(view, role, write=False):
            assert response.status_code == 403, (role, url, response.status_code)
        elif write and not can(view, role, write=True):
            # Flask-Admin sends users who may read but not write back to the list.
            assert response.status_code in (302, 403), (role, url, response.status_code)
        else:
            assert response.status_code in (200, 302, 404), (role, url, response.status_code)
            assert response.status_code != 403
        if write and "POST" in http_methods:
            token = browser.token("/appointments/") if role != "anonymous" else ""
            posted = browser.client.post(url, data={"csrf_token": token})
            if role == "anonymous":
                assert posted.status_code in (302, 400), (url, posted.status_code)
            elif not can(view, role, write=False):
                assert posted.status_code == 403, (role, url, posted.status_code)
            elif not can(view, role, write=True):
                # Refused one way or another (back to the list, forbidden, or no such form).
                assert posted.status_code in (302, 403, 404), (role, url, posted.status_code)
    # Every part of the panel was reached: a new view cannot slip past this test.
    assert {"admin", *(view.endpoint for view in admin_views(app))} <= seen
    assert checked >= 20
