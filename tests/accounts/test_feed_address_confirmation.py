"""Making a new calendar subscription address asks first when one exists: the new one breaks
every subscription to the old. The question is a page of its own, so it works without
JavaScript."""

from __future__ import annotations

from tests.support.browser import text
from tests.support.factories import make_feed_token


def test_the_first_address_is_made_at_once(logged_in):
    page = text(logged_in.get("/account/"))
    assert 'action="/account/calendar-token"' in page and "Make an address" in page


def test_a_new_address_is_asked_for_before_it_replaces_the_current_one(logged_in, user):
    make_feed_token(user)
    page = text(logged_in.get("/account/"))
    # The profile offers a link to the question, no button that replaces the address.
    assert 'action="/account/calendar-token"' not in page
    assert 'href="/account/?confirm=new-address#calendar-subscription"' in page

    question = text(logged_in.get("/account/?confirm=new-address"))
    assert "stops working at once: every calendar program subscribed to it" in question
    assert 'action="/account/calendar-token"' in question
    assert "Replace the address" in question
    assert 'href="/account/#calendar-subscription">Keep the current address</a>' in question
