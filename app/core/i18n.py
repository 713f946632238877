"""Which language and time zone a request is served in."""

from __future__ import annotations

from flask import Flask, current_app, has_request_context, request
from flask_security import current_user

from app.core.timezones import is_valid_timezone
from app.extensions import babel


def supported_locales() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def select_locale() -> str | None:
    """The user's saved language, else the best match for the browser's, else the default."""
    if not has_request_context():
        return None
    if current_user.is_authenticated and current_user.locale in supported_locales():
        return current_user.locale
    return request.accept_languages.best_match(supported_locales())


def select_timezone() -> str | None:
    """The user's saved time zone, else the default (UTC)."""
    if has_request_context() and current_user.is_authenticated:
        if is_valid_timezone(current_user.timezone):
            return current_user.timezone
    return None


def init_babel(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
