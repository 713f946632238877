"""Logging out in a real browser ends the session on the server: cookies exported before the
logout, loaded into a fresh browser, open the login page and nothing else."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from app.accounts.models import UserSession
from app.extensions import db
from tests.support.e2e import log_in
from tests.support.factories import make_user

pytestmark = pytest.mark.browser


def count_sessions(live_server) -> int:
    with live_server.app.app_context():
        return db.session.scalar(select(func.count()).select_from(UserSession))


def test_cookies_exported_before_logout_open_only_the_login_page(page, context, new_context,
                                                                  live_server):
    with live_server.app.app_context():
        make_user("olive@example.com", full_name="Olive Owner")
    log_in(page, "olive@example.com")
    exported = context.cookies()
    assert count_sessions(live_server) == 1

    # While the session lives, the exported cookies work in another browser.
    copy = new_context()
    copy.add_cookies(exported)
    copied_page = copy.new_page()
    copied_page.goto("/appointments/")
    expect(copied_page).to_have_url(re.compile(r"/appointments/$"))

    page.click("#user-menu")
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(live_server.url + "/")
    assert count_sessions(live_server) == 0

    later = new_context()
    later.add_cookies(exported)
    later_page = later.new_page()
    later_page.goto("/appointments/")
    expect(later_page).to_have_url(re.compile(r"/login\?next="))
    expect(later_page.locator("#password")).to_be_visible()
    copied_page.reload()
    expect(copied_page).to_have_url(re.compile(r"/login\?next="))
    for opened in (copied_page, later_page):
        opened.wait_for_load_state("load")
