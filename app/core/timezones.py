"""Time in one place: UTC at rest, the viewer's zone at the edges.

Every conversion between a person's days and stored UTC times goes through here: which zone a
person's clock is on (their saved zone, UTC when none is valid), where a local day starts and
ends in UTC, which years the calendar covers, and whether a wall-clock time exists at all.
"""

from __future__ import annotations

import functools
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from flask_babel import get_timezone

DAY = timedelta(days=1)

# The years the calendar covers: in forms, imported files, calendar addresses and admin filters.
MIN_YEAR = 1900
MAX_YEAR = 2200


@functools.cache
def timezone_names() -> tuple[str, ...]:
    """Return the IANA time zone names a user may choose, sorted."""
    return tuple(sorted(zoneinfo.available_timezones() - {"Factory", "localtime"}))


@functools.cache
def _known_names() -> frozenset[str]:
    return frozenset(timezone_names())


def is_valid_timezone(name: str | None) -> bool:
    return bool(name) and name in _known_names()


def zone_named(name: str | None) -> zoneinfo.ZoneInfo:
    """Return the zone a saved name stands for; UTC for none, or one no longer known.

    For a person who is not the one making the request (an appointment's owner, a reminder's
    recipient, a feed's subscriber): ``zone_named(user.timezone)``.
    """
    return zoneinfo.ZoneInfo(name if name and is_valid_timezone(name) else "UTC")


def user_timezone() -> zoneinfo.ZoneInfo:
    """Return the time zone of the current request's user (Flask-Babel's selector)."""
    return zoneinfo.ZoneInfo(str(get_timezone()))


def local_midnight(day: date, zone: tzinfo) -> datetime:
    """Return the start of a local day, on that zone's clock."""
    return datetime.combine(day, time.min, tzinfo=zone)


def local_days_in_utc(first: date, last: date, zone: tzinfo) -> tuple[datetime, datetime]:
    """Return the UTC [start, end) that covers the local days ``first`` to ``last``, both
    included: from the first one's midnight to the midnight after the last."""
    start, end = local_midnight(first, zone), local_midnight(last + DAY, zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def in_calendar_years(*days: date) -> bool:
    """Tell whether every date (or date-time) falls within the years the calendar covers."""
    return all(MIN_YEAR <= day.year <= MAX_YEAR for day in days)


def is_skipped_local_time(value: datetime) -> bool:
    """Tell whether an aware wall-clock time falls in a gap made by a daylight-saving change."""
    round_trip = value.astimezone(UTC).astimezone(value.tzinfo)
    return round_trip.replace(tzinfo=None) != value.replace(tzinfo=None)
