"""Template helpers: the book's filters, formatted by Babel in the viewer's language and time zone."""

from __future__ import annotations

from datetime import datetime, timedelta

from babel.lists import format_list
from flask import Flask
from flask_babel import (
    format_date,
    format_datetime,
    format_timedelta,
    get_locale,
    get_timezone,
)
from markupsafe import Markup, escape

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))


def date_filter(value: datetime | None, format: str = "medium") -> str:
    """Format the viewer's local date of an aware datetime."""
    return "" if value is None else format_date(value, format=format)


def datetime_filter(value: datetime | None, format: str = "medium") -> str:
    """Format an aware datetime on the viewer's clock."""
    return "" if value is None else format_datetime(value, format=format)


def duration_filter(value: timedelta | None) -> str:
    """Spell out a duration in whole units: "1 hour and 30 minutes"."""
    if value is None:
        return ""
    seconds = int(value.total_seconds())
    parts = []
    for unit, size in _UNITS:
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(
                format_timedelta(
                    timedelta(seconds=amount * size), threshold=1_000_000, granularity=unit
                )
            )
    if not parts:
        return format_timedelta(timedelta(0), granularity="minute")
    return format_list(parts, locale=get_locale())


def nl2br_filter(value: str | None) -> Markup:
    """Escape the text, then turn its line breaks into <br> tags."""
    if not value:
        return Markup("")
    lines = escape(value).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return Markup("<br>\n").join(lines)


def init_template_helpers(app: Flask) -> None:
    """Add the book's filters and the viewer's locale and time zone to every template."""
    app.add_template_filter(date_filter, "date")
    app.add_template_filter(datetime_filter, "datetime")
    app.add_template_filter(duration_filter, "duration")
    app.add_template_filter(nl2br_filter, "nl2br")
    app.add_template_global(get_locale, "current_locale")
    app.add_template_global(get_timezone, "current_timezone")
