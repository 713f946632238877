"""Requests are logged without the tokens in their addresses (calendar feeds, reset and
confirmation links). uWSGI's and nginx's own logs are checked in tests/core/test_serving.py and
tests/deploy/test_nginx.py; here, what the app hands them, and Flask's log line for a 500."""

from __future__ import annotations

import logging

import pytest

from app.core.request_log import loggable_path

TOKEN = "Sxq0-secret_TOKEN.part2"


@pytest.mark.parametrize(
    ("method", "address", "logged"),
    [
        ("GET", f"/calendar/feed/{TOKEN}.ics", "/calendar/feed/***.ics"),
        ("POST", f"/calendar/feed/{TOKEN}.ics", "/calendar/feed/***.ics"),  # refused: 405
        ("GET", f"/reset/{TOKEN}", "/reset/***"),
        ("POST", f"/reset/{TOKEN}?next=/x", "/reset/***?next=/x"),
        ("GET", f"/confirm/{TOKEN}", "/confirm/***"),
        ("GET", f"/appointments/?token={TOKEN}&page=2", "/appointments/?token=***&page=2"),
        ("GET", "/appointments/?page=2", "/appointments/?page=2"),
        # The login page's return address, itself an address with a token (encoded or not).
        ("GET", f"/login?next=/appointments/%3Ftoken%3D{TOKEN}", "/login?next=/appointments/?token=***"),
        ("GET", f"/login?next=/reset/{TOKEN}", "/login?next=/reset/***"),
        # No route matches: what follows a secret route's start is masked all the same.
        ("GET", f"/calendar/feed/{TOKEN}", "/calendar/feed/***"),
        ("GET", f"/calendar/feed/{TOKEN}.ics/extra", "/calendar/feed/***.ics/extra"),
        ("GET", f"/reset/{TOKEN}/x", "/reset/***/x"),
        ("GET", f"/confirm/{TOKEN}/", "/confirm/***/"),
        ("GET", f"/no/such?q=see+/reset/{TOKEN}", "/no/such?q=see /reset/***"),
        # Return addresses: absolute, nested (as the login page gets them), or too deep.
        ("GET", f"/login?next=http://127.0.0.1:5000/reset/{TOKEN}",
         "/login?next=http://127.0.0.1:5000/reset/***"),
        ("GET", f"/login?next=HTTPS://sched.example.org/appointments/%3Ftoken%3D{TOKEN}",
         "/login?next=https://sched.example.org/appointments/?token=***"),
        ("GET", f"/login?next=//elsewhere.example/confirm/{TOKEN}",
         "/login?next=//elsewhere.example/confirm/***"),
        ("GET", f"/login?next=/x%23/reset/{TOKEN}", "/login?next=/x#/reset/***"),
        ("GET", f"/login?next=/login?next=/reset/{TOKEN}", "/login?next=/login?next=/reset/***"),
        ("GET", f"/login?next=/appointments/%3Fnext%3D/login%253Fnext%253D/reset/{TOKEN}",
         "/login?next=/appointments/?next=/login?next=/reset/***"),
        ("GET", f"/a?next=/b?next=/c?next=/d?next=/e{TOKEN}",
         "/a?next=/b?next=/c?next=/d?next=***"),
        ("GET", "/login?next=http://[", "/login?next=***"),
        ("GET", "/calendar/2030/1/15/", "/calendar/2030/1/15/"),
        ("GET", "/no/such/page", "/no/such/page"),
        ("GET", "/search%0a%1bforged", "/search\\x0a\\x1bforged"),
    ],
)
def test_the_logged_address_masks_tokens_and_keeps_the_rest(app, method, address, logged):
    with app.test_request_context(address, method=method):
        assert loggable_path() == logged


def test_an_unexpected_error_is_logged_without_the_token(app, caplog):
    def broken(token):
        raise RuntimeError("broken on purpose")

    app.add_url_rule("/broken/<token>", "broken", broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level(logging.ERROR):
        assert app.test_client().get(f"/broken/{TOKEN}").status_code == 500
    assert "Exception on /broken/*** [GET]" in caplog.text
    assert "broken on purpose" in caplog.text  # the traceback is still there
    assert TOKEN not in caplog.text
