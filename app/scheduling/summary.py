"""Repeat rules in words: "Every 2 weeks on Tuesday and Thursday, 10 times".

A sentence is built from translated pieces, each a whole phrase with named placeholders, so a
translator can put the words in their language's order: how often ("Every 2 weeks"), on which
days ("%(every)s on %(days)s"; one text per ordinal, "on the last %(weekday)s", for languages
that inflect them) and how it ends ("%(rule)s, %(end)s"). Babel gives the names of weekdays and
months, lists and dates in the viewer's language.

What the phrases cannot say in full is not said in part: a rule with a day of the year, a week
number, an hour, mixed ordinals, or a month day in a yearly rule without its month (which repeats
monthly) is shown as it is written, in a translated sentence.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from babel.dates import format_date, format_skeleton
from babel.lists import format_list
from babel.numbers import format_decimal
from flask_babel import get_locale, gettext, ngettext

from app.scheduling.recurrence import RuleError, rule_parts, until_wall_clock

# RFC 5545's weekdays in Babel's order (Monday 0, as datetime.weekday()).
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
# Each rule's own filters the phrases can say; besides these, only its interval and its end.
# WKST changes no occurrence the phrases name.
SAYABLE = {
    "DAILY": frozenset({"BYDAY"}),
    "WEEKLY": frozenset({"BYDAY"}),
    "MONTHLY": frozenset({"BYDAY", "BYMONTHDAY", "BYSETPOS"}),
    "YEARLY": frozenset({"BYMONTH", "BYMONTHDAY"}),
}
COMMON_PARTS = frozenset({"FREQ", "INTERVAL", "COUNT", "UNTIL", "WKST"})
MONTH_DAY_SKELETON = "MMMMd"
# Any leap year: a date to name a month and day by, February 29 included.
LEAP_YEAR = 2000


class Unsayable(ValueError):
    """A rule the phrases cannot say."""


def describe(rule: str, start: datetime, all_day: bool) -> str:
    """Say in the viewer's language how a series whose first occurrence is ``start`` (aware,
    on the series' clock) repeats.

    ``all_day`` changes nothing yet: no phrase names a time, and an UNTIL is read on the
    series' clock for either kind of series.
    """
    try:
        parts = rule_parts(rule)
        repeat = _repeat(parts, start)
        end = _end(parts, start)
    except (RuleError, Unsayable):
        return gettext("Repeats by a custom rule (%(rule)s)", rule=rule.strip())
    if end is None:
        return repeat
    return gettext("%(rule)s, %(end)s", rule=repeat, end=end)


def _repeat(parts: dict[str, str], start: datetime) -> str:
    """How often, and on which days."""
    frequency = parts.get("FREQ", "")
    if frequency not in SAYABLE or parts.keys() - COMMON_PARTS - SAYABLE[frequency]:
        raise Unsayable(frequency)
    interval = _whole_number(parts.get("INTERVAL", "1"))
    if frequency == "DAILY" and "BYDAY" in parts:
        if interval != 1:
            raise Unsayable("days filtered from every few days")
        frequency = "WEEKLY"  # every day that is a Monday or a Friday: weekly on both
    every = _every(frequency, interval)
    if frequency == "WEEKLY":
        return gettext("%(every)s on %(days)s", every=every, days=_weekdays(parts, start))
    if frequency == "MONTHLY":
        return _monthly(parts, start, every)
    if frequency == "YEARLY":
        return gettext("%(every)s on %(date)s", every=every, date=_yearly_dates(parts, start))
    return every


def _every(frequency: str, interval: int) -> str:
    if frequency == "WEEKLY":
        return ngettext("Every week", "Every %(num)d weeks", interval)
    if frequency == "MONTHLY":
        return ngettext("Every month", "Every %(num)d months", interval)
    if frequency == "YEARLY":
        return ngettext("Every year", "Every %(num)d years", interval)
    return ngettext("Every day", "Every %(num)d days", interval)


def _weekdays(parts: dict[str, str], start: datetime) -> str:
    """The days of a weekly rule, from the locale's first day of the week: "Tuesday and
    Thursday"; the start's weekday when the rule names none."""
    if "BYDAY" not in parts:
        return _weekday_names([start.weekday()])
    days = [_weekday(item) for item in parts["BYDAY"].split(",")]
    if any(ordinal is not None for ordinal, _ in days):
        raise Unsayable("an ordinal in a weekly rule")
    return _weekday_names([weekday for _, weekday in days])


def _monthly(parts: dict[str, str], start: datetime, every: str) -> str:
    """A monthly rule's days: by their numbers ("on day 28"), or by one ordinal of weekdays
    ("on the fourth Thursday"), written as such or as the one position of a weekday."""
    if "BYDAY" not in parts:
        return _on_month_days(parts, start, every)
    if "BYMONTHDAY" in parts:
        raise Unsayable("weekdays that fall on month days")
    days = [_weekday(item) for item in parts["BYDAY"].split(",")]
    ordinals = {ordinal for ordinal, _ in days}
    if "BYSETPOS" in parts:
        # The n-th of all the month's Thursdays is its n-th Thursday; of several weekdays, not.
        if len(days) != 1 or ordinals != {None}:
            raise Unsayable("a position among several weekdays")
        ordinals = {_signed_number(parts["BYSETPOS"])}
    if len(ordinals) != 1:
        raise Unsayable("mixed ordinals")
    (ordinal,) = ordinals
    return _ordinal_phrase(ordinal, every, _weekday_names([weekday for _, weekday in days]))


def _on_month_days(parts: dict[str, str], start: datetime, every: str) -> str:
    """ "Every month on day 28", "on days 1 and 15"; the start's day when the rule names none."""
    if "BYSETPOS" in parts:
        raise Unsayable("a position among month days")
    numbers = sorted(
        {_month_day(item) for item in parts.get("BYMONTHDAY", str(start.day)).split(",")}
    )
    locale = get_locale()
    days = format_list([format_decimal(day, locale=locale) for day in numbers], locale=locale)
    return ngettext(
        "%(every)s on day %(days)s",
        "%(every)s on days %(days)s",
        len(numbers),
        every=every,
        days=days,
    )


def _ordinal_phrase(ordinal: int | None, every: str, weekday: str) -> str:
    """One text per ordinal, for languages where "first" agrees with the weekday; not every
    such weekday of the month (no ordinal), nor the second to last and the like."""
    names = {"every": every, "weekday": weekday}
    match ordinal:
        case 1:
            return gettext("%(every)s on the first %(weekday)s", **names)
        case 2:
            return gettext("%(every)s on the second %(weekday)s", **names)
        case 3:
            return gettext("%(every)s on the third %(weekday)s", **names)
        case 4:
            return gettext("%(every)s on the fourth %(weekday)s", **names)
        case 5:
            return gettext("%(every)s on the fifth %(weekday)s", **names)
        case -1:
            return gettext("%(every)s on the last %(weekday)s", **names)
    raise Unsayable(f"the ordinal {ordinal}")


def _yearly_dates(parts: dict[str, str], start: datetime) -> str:
    """A yearly rule's dates, "May 28": its months (the start's if none) on its one day (the
    start's if none). A month day without a month repeats in every month: not said here."""
    if "BYMONTHDAY" in parts and "BYMONTH" not in parts:
        raise Unsayable("month days in every month of the year")
    months = sorted({_month(item) for item in parts.get("BYMONTH", str(start.month)).split(",")})
    day = _month_day(parts.get("BYMONTHDAY", str(start.day)))
    try:
        dates = [date(LEAP_YEAR, month, day) for month in months]
    except ValueError:
        raise Unsayable("a day the month does not have") from None
    locale = get_locale()
    return format_list(
        [format_skeleton(MONTH_DAY_SKELETON, moment, locale=locale) for moment in dates],
        locale=locale,
    )


def _end(parts: dict[str, str], start: datetime) -> str | None:
    """How the series ends: "10 times", "until December 31, 2026"; None if it does not."""
    if "COUNT" in parts and "UNTIL" in parts:
        raise Unsayable("two ends")
    if "COUNT" in parts:
        return ngettext("%(num)d time", "%(num)d times", _whole_number(parts["COUNT"]))
    if "UNTIL" in parts:
        last_day = until_wall_clock(parts["UNTIL"], start).date()
        return gettext("until %(date)s", date=format_date(last_day, "long", locale=get_locale()))
    return None


def _weekday(item: str) -> tuple[int | None, int]:
    """A BYDAY item: its ordinal (None for every such day) and its weekday, Monday 0."""
    match = WEEKDAY.fullmatch(item)
    if match is None:
        raise Unsayable(item)
    ordinal, code = match.groups()
    return (None if ordinal is None else int(ordinal)), WEEKDAYS.index(code)


def _weekday_names(weekdays: list[int]) -> str:
    """The weekdays' names as a list, in the order of the locale's week."""
    locale = get_locale()
    names = locale.days["format"]["wide"]
    order = sorted(set(weekdays), key=lambda weekday: (weekday - locale.first_week_day) % 7)
    return format_list([names[weekday] for weekday in order], locale=locale)


def _month_day(text: str) -> int:
    day = _whole_number(text)
    if not 1 <= day <= 31:
        raise Unsayable(f"month day {text}")
    return day


def _month(text: str) -> int:
    month = _whole_number(text)
    if not 1 <= month <= 12:
        raise Unsayable(f"month {text}")
    return month


def _signed_number(text: str) -> int:
    if text.startswith("-"):
        return -_whole_number(text[1:])
    return _whole_number(text.removeprefix("+"))


def _whole_number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise Unsayable(text)
    return int(text)
