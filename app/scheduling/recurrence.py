"""Repeating appointments' rules (RFC 5545 RRULE): checked before they are kept, and expanded
on the series' own clock.

A series keeps its first start as a time on its own zone's clock and its rule as RRULE text.
Occurrences are expanded when read, within the window asked for, each then placed in UTC: a
09:00 meeting in Europe/Berlin stays at 09:00 there across both daylight-saving changes, and
a time the clocks skip is read with the offset before the gap, as RFC 5545 says (02:30 on the
night of the change is 03:30). python-dateutil does the recurrence arithmetic; this module adds:

- ``parse_rule``: what a rule may be. Refused: more than MAX_RULE_LENGTH characters, a part
  RFC 5545 does not name or named twice, repeating more often than daily, INTERVAL of 0, COUNT
  over MAX_COUNT, COUNT with UNTIL, an UNTIL before the start, a weekday that does not exist,
  and a rule that makes no occurrence in the calendar's years. Daily and weekly rules take no
  day-of-month, day-of-year, week-number or position filter: those are what can make such a
  rule empty, and dateutil looks for an occurrence of an empty rule up to the year 9999 (about
  5 s for a daily one here, whatever its UNTIL); monthly and yearly ones cost under a second.
- ``expand``: a cost that does not grow with the series' age. dateutil iterates from the first
  start, so before expanding, the start is moved forward by whole intervals to just before the
  window, with what dateutil would take from the first start (its weekday, day of the month,
  month) written into the rule. A rule with COUNT is not moved: it has MAX_COUNT occurrences at
  most. And a window gets ``limit`` occurrences at most.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any

from dateutil.relativedelta import relativedelta
from dateutil.rrule import rrule, rrulestr

from app.core.gettext import LazyTranslation
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import MAX_YEAR, MIN_YEAR, UTC, in_calendar_years

MAX_RULE_LENGTH = 1000
MAX_COUNT = 1000
MAX_INTERVAL = 1000
# Occurrences one expansion yields at most (a daily series over a year's agenda is 366).
MAX_EXPANDED = 1000
# Expansions and parsed rules each process remembers (a few MiB at most).
EXPANSIONS_KEPT = 4096

FREQUENCIES = frozenset({"DAILY", "WEEKLY", "MONTHLY", "YEARLY"})
FINER_FREQUENCIES = frozenset({"HOURLY", "MINUTELY", "SECONDLY"})
PARTS = frozenset(
    {
        "FREQ",
        "INTERVAL",
        "COUNT",
        "UNTIL",
        "WKST",
        "BYDAY",
        "BYMONTHDAY",
        "BYMONTH",
        "BYYEARDAY",
        "BYWEEKNO",
        "BYSETPOS",
        "BYHOUR",
        "BYMINUTE",
        "BYSECOND",
    }
)
# What could leave a daily or weekly rule without any occurrence.
NOT_DAILY_OR_WEEKLY = frozenset({"BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYSETPOS"})
# The parts that keep dateutil from taking the day from the first start.
DAY_PARTS = frozenset({"BYWEEKNO", "BYYEARDAY", "BYMONTHDAY", "BYDAY"})
UNTIL_VALUE = re.compile(r"(\d{8})(?:T(\d{6})(Z?))?")

RULE_INVALID = _l("This repeat rule cannot be read.")
RULE_TOO_LONG = _l("A repeat rule may be %(max)d characters long at most.", max=MAX_RULE_LENGTH)
RULE_TOO_OFTEN = _l("An appointment can repeat daily at most.")
RULE_UNSUPPORTED = _l("Daily and weekly repeats cannot be limited to days of the month or year.")
INTERVAL_INVALID = _l("Repeat every 1 to %(max)d days, weeks, months or years.", max=MAX_INTERVAL)
COUNT_INVALID = _l("Repeat 1 to %(max)d times.", max=MAX_COUNT)
COUNT_AND_UNTIL = _l("End a repeat after a number of times or on a date, not both.")
UNTIL_BEFORE_START = _l("The repeat must not end before it starts.")
RULE_EMPTY = _l(
    "This repeat rule makes no appointment between the years %(min)d and %(max)d.",
    min=MIN_YEAR,
    max=MAX_YEAR,
)


class RuleError(ValueError):
    """A rule that cannot be kept; ``message`` says why, in the user's language."""

    def __init__(self, message: LazyTranslation) -> None:
        super().__init__(str(message))
        self.message = message


@dataclass(frozen=True)
class Occurrence:
    """One occurrence of a series: its start and end in UTC (an all-day one from the local
    midnight of its first day to that of its last, as single appointments are stored)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class Recurrence:
    """A series' first occurrence and its rule.

    ``start`` is aware, on the series' own clock (its zone as tzinfo). ``duration`` is real time
    for a timed series; whole days, counted on the clock, for an all-day one.
    """

    rule: str
    start: datetime
    duration: timedelta
    all_day: bool = False

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise TypeError("A series starts at a time on its own zone's clock: an aware one.")

    @property
    def zone(self) -> tzinfo:
        return self.start.tzinfo or UTC  # never UTC: __post_init__ refuses a naive start


# --- Checking -----------------------------------------------------------------------------------


def rule_parts(text: str) -> dict[str, str]:
    """Split RRULE text (``FREQ=WEEKLY;BYDAY=TU,TH``, with or without ``RRULE:``) into its
    parts, upper-cased; RuleError for text that is no rule."""
    if len(text) > MAX_RULE_LENGTH:
        raise RuleError(RULE_TOO_LONG)
    text = text.strip().upper().removeprefix("RRULE:")
    parts: dict[str, str] = {}
    for part in text.split(";"):
        name, equals, value = part.partition("=")
        if not equals or not value or name not in PARTS or name in parts:
            raise RuleError(RULE_INVALID)
        parts[name] = value
    return parts


def parse_rule(text: str, start: datetime) -> str:
    """Check a rule for a series that starts at ``start`` (aware, on its own clock); return it
    as it is kept: the parts in a fixed order, upper-case, without ``RRULE:``."""
    parts = rule_parts(text)
    frequency = parts.get("FREQ")
    if frequency in FINER_FREQUENCIES:
        raise RuleError(RULE_TOO_OFTEN)
    if frequency not in FREQUENCIES:
        raise RuleError(RULE_INVALID)
    if frequency in ("DAILY", "WEEKLY") and NOT_DAILY_OR_WEEKLY & parts.keys():
        raise RuleError(RULE_UNSUPPORTED)
    if not 1 <= _number(parts.get("INTERVAL", "1")) <= MAX_INTERVAL:
        raise RuleError(INTERVAL_INVALID)
    if "COUNT" in parts:
        if "UNTIL" in parts:
            raise RuleError(COUNT_AND_UNTIL)
        if not 1 <= _number(parts["COUNT"]) <= MAX_COUNT:
            raise RuleError(COUNT_INVALID)
    local_start = start.replace(tzinfo=None)
    if "UNTIL" in parts and _until(parts["UNTIL"], start) < local_start:
        raise RuleError(UNTIL_BEFORE_START)
    kept = ";".join(f"{name}={parts[name]}" for name in sorted(parts, key=_part_order))
    first = _rule(kept, start, local_start).after(local_start, inc=True)
    if first is None or not in_calendar_years(first):
        raise RuleError(RULE_EMPTY)
    return kept


def _part_order(name: str) -> tuple[int, str]:
    return (0 if name == "FREQ" else 1, name)


def _number(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > 6:
        raise RuleError(RULE_INVALID)
    return int(text)


def _until(value: str, start: datetime) -> datetime:
    """UNTIL on the series' clock, as dateutil compares it with the wall-clock start: a UTC
    time converted, a floating one as it is, a date to the end of that day (inclusive)."""
    match = UNTIL_VALUE.fullmatch(value)
    if match is None:
        raise RuleError(RULE_INVALID)
    day, clock, utc = match.groups()
    try:
        if clock is None:
            return datetime.combine(datetime.strptime(day, "%Y%m%d").date(), time.max)
        moment = datetime.strptime(day + clock, "%Y%m%d%H%M%S")
    except ValueError:
        raise RuleError(RULE_INVALID) from None
    if utc:
        return moment.replace(tzinfo=UTC).astimezone(start.tzinfo).replace(tzinfo=None)
    return moment


def until_wall_clock(value: str, start: datetime) -> datetime:
    """The last moment an UNTIL value allows, on the clock of a series starting at ``start``
    (naive); RuleError for a value that is none."""
    return _until(value, start)


@functools.lru_cache(maxsize=EXPANSIONS_KEPT)
def _rule(kept: str, start: datetime, local_start: datetime) -> rrule:
    """The dateutil rule over wall-clock times, its UNTIL on the series' clock (remembered:
    dateutil's rules are not changed by iterating them, and ``replace`` makes a new one)."""
    parts = rule_parts(kept)
    until = parts.pop("UNTIL", None)
    text = ";".join(f"{name}={value}" for name, value in parts.items())
    try:
        rule = rrulestr(text, dtstart=local_start)
    except (ValueError, TypeError, KeyError):
        raise RuleError(RULE_INVALID) from None
    if not isinstance(rule, rrule):
        raise RuleError(RULE_INVALID)
    if until is not None:
        rule = rule.replace(until=_until(until, start))
    return rule


# --- Expanding ----------------------------------------------------------------------------------


def expand(
    recurrence: Recurrence,
    window_start: datetime,
    window_end: datetime,
    limit: int = MAX_EXPANDED,
) -> list[Occurrence]:
    """The occurrences that touch [window_start, window_end) (start before its end, end not
    before its start, as ``Appointment.overlapping``), earliest first, ``limit`` at most.

    Remembered per process (EXPANSIONS_KEPT of them): a calendar page asks for the same span of
    the same series again and again, and a changed series is another key.
    """
    return list(_expanded(recurrence, window_start, window_end, limit))


@functools.lru_cache(maxsize=EXPANSIONS_KEPT)
def _expanded(
    recurrence: Recurrence, window_start: datetime, window_end: datetime, limit: int
) -> tuple[Occurrence, ...]:
    found: list[Occurrence] = []
    for occurrence in occurrences_from(recurrence, window_start):
        if occurrence.start >= window_end or len(found) == limit:
            break
        found.append(occurrence)
    return tuple(found)


def occurrences_from(recurrence: Recurrence, window_start: datetime) -> Iterator[Occurrence]:
    """The occurrences that end at or after ``window_start``, earliest first, one by one: for a
    list that stops when it has enough (the agenda), however far off that is."""
    zone = recurrence.zone
    local_start = recurrence.start.replace(tzinfo=None)
    # On the wall clock, a day earlier than the window for any zone offset.
    earliest = (window_start - recurrence.duration).astimezone(zone).replace(tzinfo=None)
    earliest -= timedelta(days=1)
    rule = rebased(_rule(recurrence.rule, recurrence.start, local_start), recurrence, earliest)
    for wall_clock in rule.xafter(max(earliest, local_start), inc=True):
        occurrence = _place(wall_clock, recurrence)
        if occurrence.end >= window_start:
            yield occurrence


def occurrences_before(recurrence: Recurrence, cutoff: datetime, count: int) -> list[Occurrence]:
    """The last ``count`` occurrences that start before ``cutoff``, latest first (the agenda's
    past), by looking back over a window that doubles until it holds enough of them."""
    span = timedelta(days=64)
    while True:
        window_start = max(cutoff - span, recurrence.start.astimezone(UTC))
        found = [
            occurrence
            for occurrence in expand(recurrence, window_start, cutoff, limit=MAX_COUNT + count)
            if occurrence.start >= window_start
        ]
        if len(found) >= count or window_start == recurrence.start.astimezone(UTC):
            return found[::-1][:count]
        span *= 2


def first_start(recurrence: Recurrence) -> datetime | None:
    """When the rule's first occurrence starts, on the series' clock: the start itself when it
    matches the rule, else the first day after it that does (weekly on Tuesdays from a Monday)."""
    local_start = recurrence.start.replace(tzinfo=None)
    first = _rule(recurrence.rule, recurrence.start, local_start).after(local_start, inc=True)
    return None if first is None else first.replace(tzinfo=recurrence.zone)


def last_end(recurrence: Recurrence) -> datetime | None:
    """When the series' last occurrence ends, in UTC; None for a series without end."""
    parts = rule_parts(recurrence.rule)
    if "COUNT" not in parts and "UNTIL" not in parts:
        return None
    local_start = recurrence.start.replace(tzinfo=None)
    rule = _rule(recurrence.rule, recurrence.start, local_start)
    if "UNTIL" in parts:
        until = _until(parts["UNTIL"], recurrence.start)
        rule = rebased(rule, recurrence, until)
        last = rule.before(until, inc=True)
    else:
        last = rule[-1] if rule.count() else None
    if last is None:
        return None  # no occurrence at all: parse_rule refuses such a rule
    return _place(last, recurrence).end


def _place(wall_clock: datetime, recurrence: Recurrence) -> Occurrence:
    start = wall_clock.replace(tzinfo=recurrence.zone)
    if recurrence.all_day:
        end = (wall_clock + recurrence.duration).replace(tzinfo=recurrence.zone)
        return Occurrence(start.astimezone(UTC), end.astimezone(UTC))
    return Occurrence(start.astimezone(UTC), start.astimezone(UTC) + recurrence.duration)


def rebased(rule: rrule, recurrence: Recurrence, earliest: datetime) -> rrule:
    """The same rule from a later start: whole intervals on, to at least one interval before
    ``earliest``, so that expanding near ``earliest`` costs the same however old the series."""
    parts = rule_parts(recurrence.rule)
    start = recurrence.start.replace(tzinfo=None)
    if "COUNT" in parts or earliest <= start:
        return rule
    interval = int(parts.get("INTERVAL", "1"))
    frequency = parts["FREQ"]
    if frequency == "YEARLY":
        steps = (earliest.year - start.year) // interval
        step = relativedelta(years=interval)
    elif frequency == "MONTHLY":
        steps = ((earliest.year - start.year) * 12 + earliest.month - start.month) // interval
        step = relativedelta(months=interval)
    else:
        days = interval * (7 if frequency == "WEEKLY" else 1)
        steps = (earliest.date() - start.date()).days // days
        step = relativedelta(days=days)
    steps -= 1  # a whole interval of margin: the first period's days before its start are skipped
    if steps <= 0:
        return rule
    moved = start + step * steps
    return rule.replace(dtstart=moved, **_implied_parts(parts, start))


def _implied_parts(parts: dict[str, str], start: datetime) -> dict[str, Any]:
    """What dateutil takes from the first start when the rule does not say (RFC 5545 §3.3.10):
    written out, so that a moved start changes nothing."""
    if DAY_PARTS & parts.keys():
        return {}
    frequency = parts["FREQ"]
    if frequency == "YEARLY":
        months = {} if "BYMONTH" in parts else {"bymonth": start.month}
        return {**months, "bymonthday": start.day}
    if frequency == "MONTHLY":
        return {"bymonthday": start.day}
    if frequency == "WEEKLY":
        return {"byweekday": start.weekday()}
    return {}
