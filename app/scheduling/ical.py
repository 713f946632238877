"""iCalendar (RFC 5545) for appointments: calendars to download or subscribe to, files to import.

Plain functions on the icalendar library: nothing here reads the request or the database.
Timed appointments travel in UTC. An all-day appointment is stored from local midnight of its
first day to local midnight of its last day; in iCalendar it is a DATE from the first day to
the day after the last (DTEND is exclusive), counted in the owner's time zone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from typing import cast
from zoneinfo import ZoneInfo

from flask_babel.speaklater import LazyString
from icalendar import Calendar, Component, Event, Timezone, vRecur

from app.core.db import now_utc
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import (
    MAX_YEAR,
    MIN_YEAR,
    UTC,
    in_calendar_years,
    is_skipped_local_time,
    local_midnight,
    zone_named,
)
from app.core.validators import LINE_BREAKS_AND_TABS, has_control_characters
from app.scheduling.models import (
    DESCRIPTION_MAX,
    ICAL_UID_MAX,
    LOCATION_MAX,
    TITLE_MAX,
    Appointment,
)
from app.scheduling.recurrence import MAX_COUNT, RuleError, parse_rule
from app.scheduling.summary import describe

PRODID = "-//sched//sched appointments//EN"
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# How far a series' zone definition (VTIMEZONE) reaches past today; programs that know the zone
# by its name (IANA's, as sched's are) go by that instead.
ZONE_YEARS_AHEAD = timedelta(days=5 * 366)
# How often subscribed calendar programs that honour this hint fetch the feed again.
FEED_REFRESH = timedelta(hours=1)

# Bounds on the time zones an imported file defines itself (see _is_plain_zone).
MAX_FILE_ZONES = 4
MAX_ZONE_OBSERVANCES = 4
MAX_ZONE_DATES = 16
MIN_ZONE_YEAR = 1583  # the first whole Gregorian year; Outlook starts its rules in 1601
ZONE_RULE_PARTS = {"FREQ", "INTERVAL", "UNTIL", "COUNT", "BYMONTH", "BYDAY", "BYMONTHDAY", "WKST"}

NOT_UTF8 = _l("This file is not UTF-8 text, as iCalendar files must be. Export it again as UTF-8.")
NOT_ICALENDAR = _l("This file is not an iCalendar file, or it is damaged: it could not be read.")
NO_EVENTS = _l("This file has no events.")

NO_TITLE = _l("It has no title.")
TITLE_TOO_LONG = _l("Its title is longer than %(max)d characters.", max=TITLE_MAX)
LOCATION_TOO_LONG = _l("Its location is longer than %(max)d characters.", max=LOCATION_MAX)
DESCRIPTION_TOO_LONG = _l("Its description is longer than %(max)d characters.", max=DESCRIPTION_MAX)
CONTROL_CHARACTERS = _l("It contains invisible control characters.")
UNREADABLE_TIMES = _l("Its start or end could not be read.")
END_BEFORE_START = _l("It ends before it starts.")
YEAR_OUT_OF_RANGE = _l(
    "It does not fall between the years %(min)d and %(max)d.", min=MIN_YEAR, max=MAX_YEAR
)
SKIPPED_LOCAL_TIME = _l("Its time does not exist in your time zone (the clocks change then).")
CANCELLED = _l("It was cancelled.")
CHANGED_OCCURRENCE = _l("It changes an occurrence of an event that does not repeat.")
LONE_CHANGE = _l(
    "It changes one occurrence of a repeating event that is not in the file: add the whole "
    "event from a file that holds it."
)
SEVERAL_RULES = _l("It repeats by more than one rule, which sched cannot keep.")
TOO_MANY_DATES = _l("It lists more than %(max)d dates to add or leave out.", max=MAX_COUNT)


class ICalendarError(Exception):
    """A file that cannot be imported at all; ``message`` says why, in the user's language."""

    def __init__(self, message) -> None:
        super().__init__(str(message))
        self.message = message


class _Skip(Exception):
    """One event that cannot become an appointment; its message says why."""


@dataclass
class ParsedEvent:
    """An event read from a file, as the appointment it would become.

    ``problem`` says why it will not be added. Times are aware and in UTC, as the appointment
    will store them. A repeating event has its rule (as recurrence.parse_rule keeps it) and the
    zone it repeats on, the occurrences it excludes (EXDATE) and adds (RDATE), and its changed
    occurrences (``changes``, each with the ``recurrence_id`` of the one it replaces).
    """

    title: str
    start: datetime | None = None
    end: datetime | None = None
    all_day: bool = False
    location: str = ""
    description: str = ""
    problem: LazyString | None = None
    uid: str = ""
    rule: str | None = None
    series_timezone: str | None = None
    excluded: list[datetime] = field(default_factory=list)
    added: list[datetime] = field(default_factory=list)
    recurrence_id: datetime | None = None
    changes: list[ParsedEvent] = field(default_factory=list)

    @property
    def repeats(self) -> bool:
        return self.rule is not None

    @property
    def summary(self) -> str:
        """How it repeats, in the user's language ("" if it does not)."""
        if self.rule is None or self.start is None:
            return ""
        start = self.start.astimezone(zone_named(self.series_timezone))
        return describe(self.rule, start, self.all_day)

    def appointment_fields(self) -> dict:
        """Return the values an Appointment is created with (its exceptions apart)."""
        return {
            "title": self.title,
            "start": self.start,
            "end": self.end,
            "all_day": self.all_day,
            "location": self.location,
            "description": self.description,
            "rrule": self.rule,
            "series_timezone": self.series_timezone,
        }

    def to_dict(self) -> dict:
        """Return the event's values, JSON-ready, for the import preview to carry."""
        # Only the events to be added are carried, and those have their times.
        start, end = cast(datetime, self.start), cast(datetime, self.end)
        return {
            "title": self.title,
            "start": start.isoformat(),
            "end": end.isoformat(),
            "all_day": self.all_day,
            "location": self.location,
            "description": self.description,
            "uid": self.uid,
            "rule": self.rule,
            "series_timezone": self.series_timezone,
            "excluded": [moment.isoformat() for moment in self.excluded],
            "added": [moment.isoformat() for moment in self.added],
            "recurrence_id": self.recurrence_id.isoformat() if self.recurrence_id else None,
            "changes": [change.to_dict() for change in self.changes],
        }

    @classmethod
    def from_dict(cls, values: dict) -> ParsedEvent:
        moment = datetime.fromisoformat
        return cls(
            **{
                **values,
                "start": moment(values["start"]),
                "end": moment(values["end"]),
                "excluded": [moment(text) for text in values.get("excluded", ())],
                "added": [moment(text) for text in values.get("added", ())],
                "recurrence_id": (
                    moment(values["recurrence_id"]) if values.get("recurrence_id") else None
                ),
                "changes": [cls.from_dict(change) for change in values.get("changes", ())],
            }
        )


# ----------------------------------------------------------------------------------------------
# Export
# ----------------------------------------------------------------------------------------------


def appointment_uid(appointment: Appointment, host: str) -> str:
    """Name the appointment the same way in every export, so programs update it in place.

    The creation time keeps the name unique should a database hand out a deleted id again.
    """
    return f"appointment-{appointment.id}-{appointment.created:%Y%m%dT%H%M%SZ}@{host}"


def appointment_event(
    appointment: Appointment,
    tz: tzinfo,
    host: str,
    stamp: datetime,
    master: Appointment | None = None,
    excluded: Iterable[datetime] = (),
) -> Event:
    """Turn an appointment into a VEVENT; ``tz`` is the owner's zone, which fixes all-day dates.

    A series is one VEVENT on its own zone's clock (TZID), with its RRULE and the EXDATEs of the
    occurrences deleted (``excluded``); an exception of ``master`` (its series) is a VEVENT
    with the series' UID and the RECURRENCE-ID of the occurrence it replaces.
    """
    series = appointment if appointment.is_series else master
    zone = zone_named(series.series_timezone) if series is not None else tz
    start: date | datetime
    end: date | datetime | None
    if appointment.all_day:
        start = appointment.start.astimezone(zone).date()
        end = appointment.end.astimezone(zone).date() + timedelta(days=1)
    else:
        # Single appointments travel in UTC; a series and its exceptions on the series' clock.
        start = appointment.start.astimezone(zone if series is not None else UTC)
        # RFC 5545 wants DTEND after DTSTART; without one, an event ends when it starts.
        end = appointment.end.astimezone(zone if series is not None else UTC)
        if end == start:
            end = None
    event = Event.new(
        uid=appointment_uid(series or appointment, host),
        stamp=stamp,
        summary=appointment.title,
        location=appointment.location or None,
        description=appointment.description or None,
        start=start,
        end=end,
        created=appointment.created.astimezone(UTC),
        last_modified=appointment.modified.astimezone(UTC),
    )
    if appointment.is_series:
        event.add("RRULE", vRecur.from_ical(cast(str, appointment.rrule)))
        dates = [_on_series_clock(moment, appointment.all_day, zone) for moment in excluded]
        if dates:
            event.add("EXDATE", sorted(dates))
    elif series is not None and appointment.recurrence_id is not None:
        event.add(
            "RECURRENCE-ID", _on_series_clock(appointment.recurrence_id, series.all_day, zone)
        )
    return event


def _on_series_clock(moment: datetime, all_day: bool, zone: tzinfo) -> date | datetime:
    """An occurrence's original start as DTSTART has it: a date, or a time with its TZID."""
    local = moment.astimezone(zone)
    return local.date() if all_day else local


def build_calendar(
    appointments: Iterable[Appointment],
    tz: tzinfo,
    host: str,
    *,
    name: str,
    excluded: Mapping[int, Iterable[datetime]] | None = None,
    publish: bool = False,
    now: Callable[[], datetime] = now_utc,
) -> Calendar:
    """Build a VCALENDAR of the owner's appointments, ``tz`` being the owner's time zone.

    Series come with their exceptions among ``appointments`` and their deleted occurrences in
    ``excluded`` (by series id); the calendar then defines the zones they repeat on (VTIMEZONE).
    ``publish`` makes it a subscription feed (METHOD:PUBLISH). DTSTAMP follows RFC 5545: with a
    METHOD it is when the feed was made, without one when the appointment last changed.
    """
    calendar = Calendar.new(
        prodid=PRODID,
        calscale="GREGORIAN",
        method="PUBLISH" if publish else None,
        name=name,
    )
    del calendar.uid  # a per-response random UID would only mislead
    if publish:
        calendar.add("X-PUBLISHED-TTL", FEED_REFRESH)
    made = now().astimezone(UTC)
    appointments = list(appointments)
    masters = {appointment.id: appointment for appointment in appointments if appointment.is_series}
    for appointment in appointments:
        stamp = made if publish else appointment.modified.astimezone(UTC)
        master = masters.get(appointment.series_id) if appointment.series_id else None
        gone = (excluded or {}).get(appointment.id, ())
        calendar.add_component(appointment_event(appointment, tz, host, stamp, master, gone))
    if masters:
        first = min(master.start for master in masters.values()).date()
        calendar.add_missing_timezones(
            first_date=first, last_date=max(first, made.date()) + ZONE_YEARS_AHEAD
        )
        _one_date_per_rdate(calendar)
    return calendar


def _one_date_per_rdate(calendar: Calendar) -> None:
    """Write each clock change of a VTIMEZONE on an RDATE line of its own: RFC 5545 allows a
    list on one line too, as icalendar writes it, but some readers (vobject) take only part of
    such a list and put summer times an hour off."""
    for zone in calendar.walk("VTIMEZONE"):
        for observance in zone.subcomponents:
            dates = [
                moment.dt
                for rdate in _as_list(observance.pop("RDATE", None))
                for moment in rdate.dts
            ]
            for moment in dates:
                observance.add("RDATE", moment)


# ----------------------------------------------------------------------------------------------
# Import
# ----------------------------------------------------------------------------------------------


def parse_ics(data: bytes, tz: tzinfo) -> list[ParsedEvent]:
    """Read the events of an iCalendar file, as appointments of a user living in ``tz``.

    Events our rules refuse come back with a ``problem``; a file that cannot be read at all
    raises ICalendarError. Floating times are taken on the user's clock; repeating events
    keep their first occurrence only.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ICalendarError(NOT_UTF8) from None
    try:
        components = Calendar.from_ical(text, multiple=True)
    except Exception:  # most damage raises ValueError, some AttributeError or OSError: all alike
        raise ICalendarError(NOT_ICALENDAR) from None
    calendars = [component for component in components if component.name == "VCALENDAR"]
    if not calendars:
        raise ICalendarError(NOT_ICALENDAR)
    events = [event for calendar in calendars for event in calendar.walk("VEVENT")]
    if not events:
        raise ICalendarError(NO_EVENTS)
    zones = _FileZones(calendars)
    parsed = [_read_event(cast(Event, event), tz, zones) for event in events]  # VEVENTs are
    return _with_changes_in_their_series(parsed)


def _with_changes_in_their_series(events: list[ParsedEvent]) -> list[ParsedEvent]:
    """Put each changed occurrence (RECURRENCE-ID) with the event of its UID, wherever in the
    file it comes; one whose event is not in the file is an appointment of its own."""
    masters = {event.uid: event for event in events if event.recurrence_id is None and event.uid}
    for event in events:
        # Outlook's first occurrence may carry both its rule and a RECURRENCE-ID.
        if event.recurrence_id is not None and event.repeats and event.uid not in masters:
            event.recurrence_id = None
            masters[event.uid] = event
    found = []
    for event in events:
        master = masters.get(event.uid)
        if event.recurrence_id is None:
            found.append(event)
        elif master is None:
            event.problem = event.problem or LONE_CHANGE
            found.append(event)
        elif master.repeats and master.problem is None:
            if event.problem is None:
                # One occurrence, changed: it repeats no further.
                event.rule, event.series_timezone, event.excluded, event.added = None, None, [], []
                master.changes.append(event)
            elif event.problem is CANCELLED:
                master.excluded.append(event.recurrence_id)
            else:
                found.append(event)
        else:
            event.problem = event.problem or CHANGED_OCCURRENCE
            found.append(event)
    return found


class _FileZones:
    """The time zones a file defines (VTIMEZONE), by TZID, each read when an event needs it.

    icalendar keeps a zone it does not know under its TZID for the rest of the process, and the
    first definition it saw wins: each file's own definitions are read here instead, so that one
    user's file cannot set the times in another's.
    """

    def __init__(self, calendars: list[Calendar]) -> None:
        self._definitions = {
            str(component["TZID"]): component
            for calendar in calendars
            for component in calendar.walk("VTIMEZONE")
            if "TZID" in component
        }
        self._zones: dict[str, tzinfo | None] = {}
        self._read = 0

    def get(self, tzid: str) -> tzinfo | None:
        """Return the zone the file defines under ``tzid``, or None if there is no usable one."""
        if tzid not in self._zones:
            self._zones[tzid] = self._read_zone(tzid)
        return self._zones[tzid]

    def _read_zone(self, tzid: str) -> tzinfo | None:
        definition = self._definitions.get(tzid)
        if definition is None or self._read >= MAX_FILE_ZONES or not _is_plain_zone(definition):
            return None
        self._read += 1
        return cast(Timezone, definition).to_tz(lookup_tzid=False)  # a VTIMEZONE is a Timezone


def _is_plain_zone(definition: Component) -> bool:
    """Tell whether a VTIMEZONE changes its clocks as real zones do: by a few yearly rules.

    dateutil, which evaluates these definitions, walks every change from the first onward for
    each time it converts: a rule that fires hourly since 1601, or many rules, would hold a
    server for minutes.
    """
    observances = definition.subcomponents
    if not 0 < len(observances) <= MAX_ZONE_OBSERVANCES:
        return False
    dates = 0
    for observance in observances:
        onset = observance.get("DTSTART")
        if onset is None or onset.dt.year < MIN_ZONE_YEAR:
            return False
        for rule in _as_list(observance.get("RRULE")):
            if rule.get("FREQ") != ["YEARLY"] or rule.get("INTERVAL", [1]) != [1]:
                return False
            if set(rule) - ZONE_RULE_PARTS or len(rule.get("BYMONTH", ())) > 1:
                return False
            # Once a year: one weekday, possibly within a week of days ("second Sunday").
            if len(rule.get("BYDAY", ())) > 1 or len(rule.get("BYMONTHDAY", ())) > 7:
                return False
            if len(rule.get("BYMONTHDAY", ())) > 1 and not rule.get("BYDAY"):
                return False
        dates += sum(len(rdate.dts) for rdate in _as_list(observance.get("RDATE")))
    return dates <= MAX_ZONE_DATES


def _as_list(value) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _read_event(event: Event, tz: tzinfo, zones: _FileZones) -> ParsedEvent:
    """Turn one VEVENT into the appointment it would become, or say why it cannot.

    ``tz`` is the importing user's zone; ``zones`` the zones the file defines, by TZID.
    """
    parsed = ParsedEvent(
        title=_one_line(_text(event, "SUMMARY")),
        location=_one_line(_text(event, "LOCATION")),
        description=_text(event, "DESCRIPTION"),
        uid=_text(event, "UID")[:ICAL_UID_MAX],
    )
    try:
        if event.get("RECURRENCE-ID") is not None:
            parsed.recurrence_id = _moment(event["RECURRENCE-ID"], None, tz, zones)
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            raise _Skip(CANCELLED)
        _check_text(parsed)
        parsed.start, parsed.end, parsed.all_day = _event_times(event, tz, zones)
        if event.get("RRULE") is not None:
            _read_repeats(parsed, event, tz, zones)
    except _Skip as skip:
        parsed.problem = skip.args[0]
    return parsed


def _read_repeats(parsed: ParsedEvent, event: Event, tz: tzinfo, zones: _FileZones) -> None:
    """Read a repeating event's rule, on the clock of its start's zone, and its EXDATEs and
    RDATEs; _Skip for a rule sched refuses (recurrence.parse_rule says why)."""
    rules = _as_list(event.get("RRULE"))
    if len(rules) != 1:
        raise _Skip(SEVERAL_RULES)
    zone, zone_name = _series_zone(event, tz)
    start = cast(datetime, parsed.start).astimezone(zone)
    try:
        parsed.rule = parse_rule(rules[0].to_ical().decode(), start)
    except RuleError as error:
        raise _Skip(error.message) from None
    parsed.series_timezone = zone_name
    parsed.excluded = _moments(event, "EXDATE", start, zone, zones)
    parsed.added = [
        moment for moment in _moments(event, "RDATE", start, zone, zones) if moment != parsed.start
    ]


def _series_zone(event: Event, tz: tzinfo) -> tuple[tzinfo, str]:
    """The zone a repeating event repeats on: its start's, if a named one (IANA, or a Windows
    name icalendar knows) or UTC; else, for a floating or all-day start or a file's own zone
    definition, the importing user's."""
    start = event.start
    if not isinstance(start, datetime) or start.tzinfo is None:
        return tz, str(tz)
    if isinstance(start.tzinfo, ZoneInfo):
        return start.tzinfo, start.tzinfo.key
    if "TZID" not in event["DTSTART"].params:
        return UTC, "UTC"  # written in UTC (…Z)
    return tz, str(tz)


def _moments(
    event: Event, name: str, start: datetime, zone: tzinfo, zones: _FileZones
) -> list[datetime]:
    """The moments of an EXDATE or RDATE property (each line of it), in UTC: a date at the
    series' time of day, a floating time on its clock. At most MAX_COUNT of them."""
    found: list[datetime] = []
    for prop in _as_list(event.get(name)):
        for value in getattr(prop, "dts", ()):
            if len(found) == MAX_COUNT:
                raise _Skip(TOO_MANY_DATES)
            found.append(_moment(value, start, zone, zones))
    return sorted(set(found))


def _moment(prop, start: datetime | None, zone: tzinfo, zones: _FileZones) -> datetime:
    """One date or time of a RECURRENCE-ID, EXDATE or RDATE, in UTC; a date is at the series'
    time of day (midnight without a start)."""
    value = prop.dt
    if isinstance(value, tuple):  # a PERIOD: its start
        value = value[0]
    if not isinstance(value, datetime):
        clock = time(0) if start is None else start.astimezone(zone).time()
        value = datetime.combine(value, clock.replace(tzinfo=None))
    if not in_calendar_years(value):
        raise _Skip(YEAR_OUT_OF_RANGE)
    return _aware(value, prop, zone, zones).astimezone(UTC)


def _text(event: Event, name: str) -> str:
    value = event.get(name)
    if isinstance(value, list):  # repeated, say once per language: the first will do
        value = value[0]
    return "" if value is None else str(value)


def _one_line(text: str) -> str:
    """Join the lines of a title or location that a calendar program let run over several."""
    return " ".join(line.strip() for line in LINE_BREAK.split(text) if line.strip())


def _check_text(parsed: ParsedEvent) -> None:
    if not parsed.title:
        raise _Skip(NO_TITLE)
    if len(parsed.title) > TITLE_MAX:
        raise _Skip(TITLE_TOO_LONG)
    if len(parsed.location) > LOCATION_MAX:
        raise _Skip(LOCATION_TOO_LONG)
    if len(parsed.description) > DESCRIPTION_MAX:
        raise _Skip(DESCRIPTION_TOO_LONG)
    # The appointment form's rules: one-line title and location, a description with lines.
    if (
        has_control_characters(parsed.title)
        or has_control_characters(parsed.location)
        or has_control_characters(parsed.description, LINE_BREAKS_AND_TABS)
    ):
        raise _Skip(CONTROL_CHARACTERS)


def _event_times(event: Event, tz: tzinfo, zones: _FileZones) -> tuple[datetime, datetime, bool]:
    """Return the appointment's start and end (both UTC), and whether it lasts all day."""
    try:
        start, end = event.start, event.end
        if isinstance(start, datetime) and isinstance(end, datetime):  # icalendar: both or neither
            return (*_timed(event, start, end, tz, zones), False)
        return (*_all_day(start, end, tz), True)
    except _Skip:
        raise
    except Exception:  # icalendar raises ValueError; a file's own zone definition, anything
        raise _Skip(UNREADABLE_TIMES) from None


def _timed(
    event: Event, start: datetime, end: datetime, tz: tzinfo, zones: _FileZones
) -> tuple[datetime, datetime]:
    _check_years(start, end)
    aware_start = _aware(start, event["DTSTART"], tz, zones).astimezone(UTC)
    if "DTEND" in event:
        aware_end = _aware(end, event["DTEND"], tz, zones).astimezone(UTC)
    else:  # icalendar counted it from a DURATION, or gave none at all
        aware_end = aware_start + (end - start)
    if aware_end < aware_start:
        raise _Skip(END_BEFORE_START)
    return aware_start, aware_end


def _all_day(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    if end < start:
        raise _Skip(END_BEFORE_START)
    # DTEND is the day after the last; some programs write the first day again for one day.
    last = max(start, end - timedelta(days=1))
    _check_years(start, last)
    return local_midnight(start, tz).astimezone(UTC), local_midnight(last, tz).astimezone(UTC)


def _check_years(start: date, end: date) -> None:
    if not in_calendar_years(start, end):
        raise _Skip(YEAR_OUT_OF_RANGE)


def _aware(value: datetime, prop, tz: tzinfo, zones: _FileZones) -> datetime:
    """Place an event's wall-clock time in its zone; a floating time is on the user's clock."""
    zone_id = prop.params.get("TZID")
    # icalendar itself knows IANA and Windows zone names; any other zone is the file's own.
    if zone_id and not isinstance(value.tzinfo, ZoneInfo):
        zone = zones.get(zone_id)
        if zone is None:
            raise _Skip(_l("Its time zone “%(zone)s” is unknown or cannot be used.", zone=zone_id))
        return value.replace(tzinfo=zone)
    if value.tzinfo is not None:
        return value
    value = value.replace(tzinfo=tz)
    if is_skipped_local_time(value):
        raise _Skip(SKIPPED_LOCAL_TIME)
    return value
