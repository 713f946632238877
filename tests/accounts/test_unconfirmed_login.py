"""Logging in to an account whose address is not confirmed yet: the right password earns the
reason and a way to have the link sent again; anything else gets the answer anyone gets."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from app.core.db import now_utc
from app.extensions import db
from tests.support.browser import text
from tests.support.factories import PASSWORD, make_user

GENERIC = "Authentication failed: the e-mail address or the password is wrong."
UNCONFIRMED = "Your e-mail address is not confirmed yet"
RESEND_FORM = re.compile(
    r'<form method="post" action="/confirm"[^>]*>.*?name="email" value="new@example.com".*?'
    r"Send the confirmation link again</button>",
    re.S,
)


@pytest.fixture
def unconfirmed(app):
    return make_user("new@example.com", confirmed=False)


def log_in(browser, email: str, password: str):
    return browser.submit("/login", {"email": email, "password": password})


def test_the_right_password_says_the_address_needs_confirming_and_offers_the_link(
    browser, unconfirmed, outbox
):
    refused = log_in(browser, "new@example.com", PASSWORD)
    page = text(refused)
    assert refused.status_code == 400
    assert UNCONFIRMED in page and GENERIC not in page
    assert RESEND_FORM.search(page), page
    assert browser.get("/appointments/").status_code == 302  # not logged in

    # The offered button sends the link again.
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    sent = browser.client.post("/confirm", data={"csrf_token": csrf, "email": "new@example.com"})
    assert sent.status_code in (200, 302)
    [message] = outbox
    assert message.to == ["new@example.com"] and "/confirm/" in message.body


@pytest.mark.parametrize(
    ("email", "password"),
    [("new@example.com", "not the password"), ("nobody@example.com", PASSWORD)],
    ids=["wrong password", "unknown address"],
)
def test_a_wrong_password_or_an_unknown_address_gets_the_same_answer(
    browser, unconfirmed, email, password
):
    refused = log_in(browser, email, password)
    page = text(refused)
    assert refused.status_code == 400
    assert GENERIC in page
    assert UNCONFIRMED not in page and not RESEND_FORM.search(page)


def test_a_locked_unconfirmed_account_tells_nothing_either(browser, unconfirmed):
    unconfirmed.locked_until = now_utc() + timedelta(minutes=10)
    db.session.commit()
    page = text(log_in(browser, "new@example.com", PASSWORD))
    assert GENERIC in page and UNCONFIRMED not in page


def test_a_confirmed_account_logs_in_as_before(browser, app):
    make_user("old@example.com")
    assert log_in(browser, "old@example.com", PASSWORD).status_code == 302
