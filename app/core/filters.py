"""Template helpers: the book's filters, formatted by Babel in the viewer's language and
time zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta, tzinfo

from babel.dates import format_interval, format_skeleton, format_time
from babel.lists import format_list
from flask import Flask
from flask_babel import (
    format_date,
    format_datetime,
    format_percent,
    format_timedelta,
    get_locale,
    get_timezone,
    to_user_timezone,
)
from markupsafe import Markup, escape

_UNITS = (("day", 86400), ("hour", 3600), ("minute", 60))
DAY_SKELETON = "yMMMEd"


def date_filter(value: date | None, format: str = "medium") -> str:
    """Format the viewer's local date of an aware datetime, or a date as it is."""
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
            # A threshold this high stops Babel rounding 55 minutes up to "1 hour".
            parts.append(
                format_timedelta(
                    timedelta(seconds=amount * size), threshold=1_000_000, granularity=unit
                )
            )
    if not parts:
        return format_timedelta(timedelta(0), granularity="minute")
    return format_list(parts, locale=get_locale())


def timespan_filter(
    start: datetime, end: datetime, all_day: bool = False, zone: tzinfo | None = None
) -> str:
    """Format when something happens, as compactly as the viewer's language allows.

    "Mon, May 4, 2026, 10:00 – 11:30 AM"; all-day: "Mon, May 4 – Wed, May 6, 2026". On the
    viewer's clock, or on ``zone``'s (an e-mail to someone other than the viewer).
    """
    locale = get_locale()
    if zone is not None:
        start, end = start.astimezone(zone), end.astimezone(zone)
    else:
        start, end = to_user_timezone(start), to_user_timezone(end)
    if all_day:
        return format_interval(start.date(), end.date(), DAY_SKELETON, locale=locale)
    time_skeleton = "hm" if "h" in locale.time_formats["short"].pattern else "Hm"
    if start.date() == end.date():
        times = format_interval(start.time(), end.time(), time_skeleton, locale=locale)
        return _date_and_time(start, times, locale)
    return locale.interval_formats[None].format(
        _date_and_time(start, format_time(start, "short", locale=locale), locale),
        _date_and_time(end, format_time(end, "short", locale=locale), locale),
    )


def _date_and_time(moment: datetime, time_text: str, locale) -> str:
    day = format_skeleton(DAY_SKELETON, moment, locale=locale)
    return locale.datetime_formats["medium"].format(time_text, day)


def minutes_filter(minutes: int) -> str:
    """A lead time in minutes as words: "30 minutes", "1 day"."""
    return format_timedelta(timedelta(minutes=minutes), threshold=1.0)


def percent_filter(value: float) -> str:
    """A percentage from 0 to 100, in the locale's way (87 %, 87%, %87)."""
    return format_percent(value / 100, "#,##0.#%")


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
    app.add_template_filter(percent_filter, "percent")
    app.add_template_filter(minutes_filter, "minutes")
    app.add_template_filter(timespan_filter, "timespan")
    app.add_template_global(get_locale, "current_locale")
    app.add_template_global(get_timezone, "current_timezone")
