"""Time zone conversion in one place: UTC at rest, the viewer's zone at the edges."""

from __future__ import annotations

import functools
import zoneinfo
from datetime import datetime, timezone

from flask_babel import get_timezone


@functools.cache
def timezone_names() -> tuple[str, ...]:
    """Return the IANA time zone names a user may choose, sorted."""
    return tuple(sorted(zoneinfo.available_timezones() - {"Factory", "localtime"}))


def is_valid_timezone(name: str | None) -> bool:
    return bool(name) and name in timezone_names()


def user_timezone() -> zoneinfo.ZoneInfo:
    """Return the time zone of the current request's user (Flask-Babel's selector)."""
    return zoneinfo.ZoneInfo(str(get_timezone()))


def is_skipped_local_time(value: datetime) -> bool:
    """Tell whether an aware wall-clock time falls in a gap made by a daylight-saving change."""
    round_trip = value.astimezone(timezone.utc).astimezone(value.tzinfo)
    return round_trip.replace(tzinfo=None) != value.replace(tzinfo=None)
