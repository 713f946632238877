"""Rate limits on the account forms that invite guessing and flooding (Flask-Limiter).

Logging in, signing up and the e-mails that reset a password or confirm an address are limited
per client address: past the limit the answer is 429 with ``Retry-After``, whatever was sent.
Checking the password of a logged-in account (re-authenticating on ``/verify``, the current
password on ``/change``) shares the login's count: holding a session is no licence to guess.
Only POSTs count; looking at the forms is free. The address is ``request.remote_addr``: the
socket's peer, or behind nginx the client nginx names in the uwsgi protocol; no X-Forwarded-For
a client writes counts (app/core/http.py), so a client cannot reset its count with a header.

The calendar feed, which needs no login, is limited per feed token instead (see
init_feed_rate_limit): a calendar program polls it every few minutes, all day.

Counts live in ``RATELIMIT_STORAGE_URI``: Redis (``redis://host:6379/0``) shares them between
every worker and host. The embedded default, ``memory://``, keeps them in each worker process,
so with N workers an address gets up to N times the limit (README, "Rate limits"). Should Redis
stop answering, each worker falls back to counting in its own memory and logs a warning.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from app.accounts.models import calendar_token_digest
from app.core.errors import handle_http_error

# Flask-Security's endpoints and the setting that holds each one's limit.
LIMITED_ENDPOINTS = {
    "security.login": "RATELIMIT_LOGIN",
    # A logged-in account's password, checked again: the login's count (guessing is guessing).
    "security.verify": "RATELIMIT_LOGIN",
    "security.change_password": "RATELIMIT_LOGIN",
    "security.register": "RATELIMIT_REGISTER",
    # Each of these sends an e-mail or spends a token; they share one count per address.
    "security.forgot_password": "RATELIMIT_EMAIL",
    "security.reset_password": "RATELIMIT_EMAIL",
    "security.send_confirmation": "RATELIMIT_EMAIL",
}
FEED_ENDPOINT = "ical.feed"


def _too_many_message() -> str:
    return gettext("Too many attempts from your address. Please wait a moment and try again.")


def _feed_too_often_message() -> str:
    return gettext("This calendar is fetched too often. Please wait a while and try again.")


def init_rate_limits(app: Flask) -> Limiter:
    """Limit Flask-Security's views; call after Flask-Security has registered them.

    One Limiter per app: its limits are bound to this app's settings and views only.
    """
    limiter = Limiter(get_remote_address, app=app)
    app.extensions["sched_limiter"] = limiter
    shared = {}
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        # Typed as one callable: a union of sync and async views confuses the decorator's type.
        view: Callable[..., Any] | None = app.view_functions.get(endpoint)
        if view is None:  # the feature is turned off
            continue
        if setting not in shared:
            shared[setting] = limiter.shared_limit(
                app.config[setting],
                scope=setting.lower(),
                methods=["POST"],
                error_message=_too_many_message,
            )
        app.view_functions[endpoint] = shared[setting](view)
    app.register_error_handler(RateLimitExceeded, handle_rate_limited)
    return limiter


def init_feed_rate_limit(app: Flask) -> None:
    """Limit each calendar feed token to RATELIMIT_CALENDAR_FEED; call once the feed is registered.

    The count is keyed by the token's SHA-256, so the store (Redis, say) never holds a token, and
    only a feed served (200, or 304 for an unchanged one) counts: an unknown token, 404, leaves
    nothing in the store, so requests for made-up addresses cannot fill it up.
    """
    limiter: Limiter = app.extensions["sched_limiter"]
    limit = limiter.limit(
        app.config["RATELIMIT_CALENDAR_FEED"],
        key_func=_feed_token_key,
        scope="calendar_feed",
        deduct_when=lambda response: response.status_code in (200, 304),
        error_message=_feed_too_often_message,
    )
    view: Callable[..., Any] = app.view_functions[FEED_ENDPOINT]  # as in init_rate_limits
    app.view_functions[FEED_ENDPOINT] = limit(view)


def _feed_token_key() -> str:
    return calendar_token_digest((request.view_args or {}).get("token", ""))


def handle_rate_limited(error: RateLimitExceeded):
    """Our 429 page or JSON, with Retry-After: when the last of the exceeded limits resets."""
    limiter: Limiter = current_app.extensions["sched_limiter"]
    resets = [limit.reset_at for limit in limiter.current_limits if limit.breached]
    if resets:
        error.retry_after = max(1, math.ceil(max(resets) - time.time()))
    return handle_http_error(error)
