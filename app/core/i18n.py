"""Which language and time zone a request is served in, and the language menu.

The language is, in order: the logged-in user's saved preference; the choice made from the
language menu (kept in the session, so it lasts for anonymous visitors too); the best of the
browser's Accept-Language among the supported languages; English. Only values found in the
``LANGUAGES`` setting are ever used; anything else is ignored, never turned into a path.
"""

from __future__ import annotations

from contextlib import AbstractContextManager

from flask import Flask, current_app, has_request_context, request, session
from flask_babel import force_locale
from flask_security import current_user

from app.core.catalogs import DOMAIN, LiveDomain, init_catalogs
from app.core.gettext import init_template_gettext
from app.core.timezones import is_valid_timezone
from app.extensions import babel

SESSION_KEY = "language"


def supported_locales() -> list[str]:
    return list(current_app.config["LANGUAGES"])


def is_supported(language: object) -> bool:
    return isinstance(language, str) and language in current_app.config["LANGUAGES"]


def language_of(person) -> str | None:
    """The language to write to someone in (the mail they get): their saved one while the site
    offers it; None, the language of the moment, otherwise."""
    return person.locale if is_supported(person.locale) else None


def in_language_of(person) -> AbstractContextManager:
    """``with in_language_of(user):`` renders text and mail in that person's language."""
    return force_locale(language_of(person))


def select_locale() -> str | None:
    if not has_request_context():
        return None
    if current_user.is_authenticated and is_supported(current_user.locale):
        return current_user.locale
    chosen = session.get(SESSION_KEY)
    if is_supported(chosen):
        return chosen
    return request.accept_languages.best_match(supported_locales())


def select_timezone() -> str | None:
    """The user's saved time zone, else the default (UTC)."""
    if (
        has_request_context()
        and current_user.is_authenticated
        and is_valid_timezone(current_user.timezone)
    ):
        return current_user.timezone
    return None


def init_babel(app: Flask) -> None:
    init_catalogs(app)
    babel.domain_instance = LiveDomain(domain=DOMAIN)
    babel.init_app(app, locale_selector=select_locale, timezone_selector=select_timezone)
    init_template_gettext(app)

    @app.context_processor
    def language_menu():
        return {"site_languages": app.config["LANGUAGES"]}
