"""Rate limits on the account forms that invite guessing and flooding (Flask-Limiter).

Logging in, signing up and the e-mails that reset a password or confirm an address are limited
per client address: past the limit the answer is 429 with ``Retry-After``, whatever was sent.
Only POSTs count; looking at the forms is free. The address is ``request.remote_addr``, which
ProxyFix takes from the trusted proxy's X-Forwarded-For only (app/core/http.py), so a client
cannot reset its count by sending a header of its own.

Counts live in ``RATELIMIT_STORAGE_URI``: Redis (``redis://host:6379/0``) shares them between
every worker and host. The embedded default, ``memory://``, keeps them in each worker process,
so with N workers an address gets up to N times the limit (README, "Rate limits"). Should Redis
stop answering, each worker falls back to counting in its own memory and logs a warning.
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from app.core.errors import handle_http_error

# Flask-Security's endpoints and the setting that holds each one's limit.
LIMITED_ENDPOINTS = {
    "security.login": "RATELIMIT_LOGIN",
    "security.register": "RATELIMIT_REGISTER",
    # Each of these sends an e-mail or spends a token; they share one count per address.
    "security.forgot_password": "RATELIMIT_EMAIL",
    "security.reset_password": "RATELIMIT_EMAIL",
    "security.send_confirmation": "RATELIMIT_EMAIL",
}


def _too_many_message() -> str:
    return gettext("Too many attempts from your address. Please wait a moment and try again.")


def init_rate_limits(app: Flask) -> Limiter:
    """Limit Flask-Security's views; call after Flask-Security has registered them.

    One Limiter per app: its limits are bound to this app's settings and views only.
    """
    limiter = Limiter(get_remote_address, app=app)
    app.extensions["sched_limiter"] = limiter
    shared = {}
    for endpoint, setting in LIMITED_ENDPOINTS.items():
        view = app.view_functions.get(endpoint)
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


def handle_rate_limited(error: RateLimitExceeded):
    """Our 429 page or JSON, with Retry-After: when the last of the exceeded limits resets."""
    limiter: Limiter = current_app.extensions["sched_limiter"]
    resets = [limit.reset_at for limit in limiter.current_limits if limit.breached]
    if resets:
        error.retry_after = max(1, math.ceil(max(resets) - time.time()))
    return handle_http_error(error)
