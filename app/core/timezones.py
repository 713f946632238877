"""Time in one place: UTC at rest, the viewer's zone at the edges.

Every conversion between a person's days and stored UTC times goes through here: which zone a
person's clock is on (their saved zone, UTC when none is valid), where a local day starts and
ends in UTC, which years the calendar covers, and whether a wall-clock time exists at all.
"""

from __future__ import annotations

import functools
import unicodedata
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from importlib import resources

from babel import Locale
from babel.dates import get_timezone_gmt, get_timezone_location
from flask_babel import get_timezone
from flask_babel import gettext as _

from app.core.gettext import lazy_gettext as _l

DAY = timedelta(days=1)

# The years the calendar covers: in forms, imported files, calendar addresses and admin filters.
MIN_YEAR = 1900
MAX_YEAR = 2200


@functools.cache
def timezone_names() -> tuple[str, ...]:
    """Return the IANA time zone names a user may choose, sorted."""
    return tuple(sorted(zoneinfo.available_timezones() - {"Factory", "localtime"}))


# The regions the zones people choose from are grouped by: the first part of their names.
REGIONS = {
    "Africa": _l("Africa"),
    "America": _l("America"),
    "Antarctica": _l("Antarctica"),
    "Arctic": _l("Arctic"),
    "Asia": _l("Asia"),
    "Atlantic": _l("Atlantic Ocean"),
    "Australia": _l("Australia"),
    "Europe": _l("Europe"),
    "Indian": _l("Indian Ocean"),
    "Pacific": _l("Pacific Ocean"),
}


def _tzdata_file(name: str) -> str:
    # The tzdata package is pinned with the app (requirements/base.txt), the system's may differ.
    return resources.files("tzdata.zoneinfo").joinpath(name).read_text(encoding="utf-8")


@functools.cache
def offered_timezone_names() -> tuple[str, ...]:
    """Return the zones people choose from, sorted: UTC, and the current name of each zone
    tzdata's zone.tab lists for a country (what tzselect offers). Old names kept as links
    (Asia/Calcutta, US/Eastern) and the Etc/GMT+5 kind, whose sign is the reverse of what
    people read, are left out; they stay valid for whoever saved one (``is_valid_timezone``)."""
    listed = {
        line.split("\t")[2]
        for line in _tzdata_file("zone.tab").splitlines()
        if line and not line.startswith("#")
    }
    regional = {name for name in listed if name.split("/", 1)[0] in REGIONS}
    return ("UTC", *sorted(regional & _known_names()))


@functools.cache
def offered_zone_for_links() -> dict[str, str]:
    """Return the offered zone each old regional name is a link to (Asia/Calcutta: Asia/Kolkata),
    as tzdata says: browsers may name the old one (ICU keeps CLDR's names)."""
    offered = set(offered_timezone_names())
    links = {}
    for line in _tzdata_file("tzdata.zi").splitlines():
        if line.startswith("L "):
            _, target, link = line.split()
            if target in offered and link not in offered and link.split("/", 1)[0] in REGIONS:
                links[link] = target
    return links


def _city(name: str, locale: Locale) -> str:
    """The zone's city in the language of ``locale`` (CLDR's exemplar city)."""
    city = get_timezone_location(zoneinfo.ZoneInfo(name), locale, return_city=True)
    if "/" in city:
        # CLDR names America/Argentina/Buenos_Aires by its old name, America/Buenos_Aires.
        last = name.rsplit("/", 1)[1]
        old_name = f"{name.split('/', 1)[0]}/{last}"
        city = locale.time_zones.get(old_name, {}).get("city") or last.replace("_", " ")
    return city


def _sort_key(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().casefold()


def _offset(name: str, locale: Locale, moment: datetime) -> str:
    return get_timezone_gmt(moment.astimezone(zoneinfo.ZoneInfo(name)), "long", locale=locale)


@functools.lru_cache(maxsize=64)
def _cities_and_offsets(locale: Locale, moment: datetime) -> dict[str, list[tuple[str, str, str]]]:
    """The offered zones by region, each with its city and its offset at ``moment``, sorted."""
    by_region: dict[str, list[tuple[str, str, str]]] = {region: [] for region in REGIONS}
    for name in offered_timezone_names()[1:]:
        by_region[name.split("/", 1)[0]].append(
            (name, _city(name, locale), _offset(name, locale, moment))
        )
    for zones in by_region.values():
        zones.sort(key=lambda zone: _sort_key(zone[1]))
    return by_region


def timezone_choices(
    locale: Locale, saved: str | None = None, now: datetime | None = None
) -> dict[str, list[tuple[str, str]]]:
    """Return the zones to choose from, grouped by region (WTForms' optgroups) and labelled
    with their city in the language of ``locale`` and their offset now: "Berlin (GMT+02:00)".
    First, a ``saved`` zone that is valid but no longer offered, so that its owner keeps it."""
    moment = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    groups: dict[str, list[tuple[str, str]]] = {}
    if saved and is_valid_timezone(saved) and saved not in offered_timezone_names():
        label = _(
            "%(city)s (%(offset)s)",
            city=saved.replace("_", " "),
            offset=_offset(saved, locale, moment),
        )
        groups[_("Your saved time zone")] = [(saved, label)]
    groups[_("Universal time")] = [("UTC", "UTC")]
    for region, zones in _cities_and_offsets(locale, moment).items():
        groups[str(REGIONS[region])] = [
            (name, _("%(city)s (%(offset)s)", city=city, offset=offset))
            for name, city, offset in zones
        ]
    return groups


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
