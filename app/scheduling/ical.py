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
from icalendar import (
    Alarm,
    Calendar,
    Component,
    ComponentFactory,
    Event,
    Journal,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    Todo,
    vBroken,
    vDuration,
    vRecur,
    vText,
)

from app.core.db import now_utc
from app.core.fields import REMINDER_MINUTES
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import (
    MAX_YEAR,
    MIN_YEAR,
    UTC,
    in_calendar_years,
    is_skipped_local_time,
    is_valid_timezone,
    local_midnight,
    zone_named,
)
from app.core.validators import LINE_BREAKS_AND_TABS, has_control_characters
from app.scheduling.models import (
    CATEGORY_MAX,
    COLORS,
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

UNTITLED = _l("(no title)")
TITLE_CUT = _l("Its title was longer than %(max)d characters: it was cut to fit.", max=TITLE_MAX)
ON_ITS_OWN = _l(
    "It is one occurrence of a repeating event whose other occurrences are not in the file: "
    "it is added on its own."
)
TASK = _l("It is a task, not an event.")
JOURNAL_ENTRY = _l("It is a journal entry, not an event.")
REPLY = _l("It answers an invitation: it is not an event to add.")
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
    ``reminder_minutes`` comes from its first alarm (VALARM) before the start; ``notes`` tell
    what the import changed of an event it adds (a title cut short, say).
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
    reminder_minutes: int | None = None
    notes: list[LazyString | str] = field(default_factory=list)
    category: str = ""
    color: str = ""

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
            "reminder_minutes": self.reminder_minutes,
            "category": self.category,
            "color": self.color,
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
            "reminder_minutes": self.reminder_minutes,
            "notes": [str(note) for note in self.notes],
            "category": self.category,
            "color": self.color,
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
        # Each saved change counts one (the version starts at 1): programs keep the latest.
        sequence=appointment.version - 1,
    )
    if appointment.category:
        event.add("CATEGORIES", [appointment.category])
    if appointment.color:
        event.add("COLOR", appointment.color)
    if appointment.reminder_minutes is not None:
        event.add_component(reminder_alarm(appointment))
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


def reminder_alarm(appointment: Appointment) -> Alarm:
    """The appointment's reminder as calendar programs show one: a VALARM before the start."""
    lead = timedelta(minutes=cast(int, appointment.reminder_minutes))
    alarm = Alarm.new(description=appointment.title)
    alarm.add("ACTION", "DISPLAY")
    alarm.add("TRIGGER", -lead)
    return alarm


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
        prodid=PRODID, calscale="GREGORIAN", method="PUBLISH" if publish else None
    )
    del calendar.uid  # a per-response random UID would only mislead
    # Text, escaped (icalendar writes a name given to Calendar.new as it is: a comma cuts it).
    calendar.add("NAME", vText(name))
    calendar.add("X-WR-CALNAME", vText(name))
    if publish:
        # How often to fetch the feed again: RFC 7986's property, and Outlook's older one.
        calendar.add("REFRESH-INTERVAL", vDuration(FEED_REFRESH), parameters={"VALUE": "DURATION"})
        calendar.add("X-PUBLISHED-TTL", vDuration(FEED_REFRESH))
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


# What a calendar's METHOD (RFC 5546) makes of every event in it: answers to an invitation and
# its withdrawal are messages about events, nothing to add.
REFUSING_METHODS = {"REPLY": REPLY, "COUNTER": REPLY, "DECLINECOUNTER": REPLY, "CANCEL": CANCELLED}
# What else a file may hold, listed as skipped.
NOT_EVENTS = {"VTODO": TASK, "VJOURNAL": JOURNAL_ENTRY}
# The longest bad line a message quotes.
QUOTED_LINE_MAX = 80


class _LenientCalendar(Calendar):
    """A VCALENDAR read as icalendar reads a VEVENT: each of its parts keeps a value it cannot
    read as broken (a vBroken, listed in the part's ``errors``) instead of failing the file.

    One bad value where none is needed then costs nothing (iCloud writes offsets such as
    +5328 in zone rules of 1893, which no event uses); where an event needs it, the event is
    refused with that line (_readable, _FileZones).
    """

    ignore_exceptions = True

    @classmethod
    def _get_component_factory(cls) -> ComponentFactory:
        return _LENIENT_COMPONENTS  # as icalendar's own LazyCalendar gives its own


def _lenient_components() -> ComponentFactory:
    factory = ComponentFactory()
    factory.add_component_class(_LenientCalendar)
    for strict in (Timezone, TimezoneStandard, TimezoneDaylight, Alarm, Todo, Journal):
        lenient = type(strict.__name__, (strict,), {"ignore_exceptions": True})
        factory.add_component_class(cast(type[Component], lenient))
    return factory


_LENIENT_COMPONENTS = _lenient_components()


@dataclass(frozen=True)
class _Clocks:
    """The zones of an event's times that name none: dates are on the importing user's (an
    all-day appointment is its owner's days), floating times on the calendar's own
    (X-WR-TIMEZONE, as Google and Apple write it) or else on the user's too."""

    user: tzinfo
    floating: tzinfo


def parse_ics(data: bytes, tz: tzinfo) -> list[ParsedEvent]:
    """Read the events of an iCalendar file, as appointments of a user living in ``tz``.

    Events our rules refuse come back with a ``problem``, as do the tasks, journal entries
    and answers to invitations a file holds, to be listed as skipped; a file that cannot be
    read at all raises ICalendarError. Repeating events come with their changed occurrences.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ICalendarError(NOT_UTF8) from None
    try:
        # Bytes: icalendar would open a file named by a str without line breaks.
        components = _LenientCalendar.from_ical(text.encode(), multiple=True)
    except Exception:  # most damage raises ValueError, some AttributeError or OSError: all alike
        raise ICalendarError(NOT_ICALENDAR) from None
    calendars = [component for component in components if component.name == "VCALENDAR"]
    if not calendars:
        raise ICalendarError(NOT_ICALENDAR)
    zones = _FileZones(calendars)
    parsed = [found for calendar in calendars for found in _read_calendar(calendar, tz, zones)]
    if not parsed:
        raise ICalendarError(NO_EVENTS)
    return _with_changes_in_their_series(parsed)


def _read_calendar(calendar: Component, tz: tzinfo, zones: _FileZones) -> list[ParsedEvent]:
    """Read the events of one VCALENDAR, and its tasks and journal entries to skip, in order."""
    clocks = _Clocks(tz, _floating_zone(calendar, tz))
    refused = REFUSING_METHODS.get(_text(calendar, "METHOD").strip().upper())
    found = []
    for component in calendar.walk():
        if component.name == "VEVENT":
            parsed = _read_event(cast(Event, component), clocks, zones)  # VEVENTs are Events
            parsed.problem = refused or parsed.problem
        elif component.name in NOT_EVENTS:
            parsed = ParsedEvent(_one_line(_text(component, "SUMMARY")))
            _fit_title(parsed)
            parsed.problem = NOT_EVENTS[component.name]
        else:
            continue
        found.append(parsed)
    return found


def _floating_zone(calendar: Component, tz: tzinfo) -> tzinfo:
    """The zone of the calendar's floating times: its X-WR-TIMEZONE if IANA knows that name,
    else the importing user's."""
    name = _text(calendar, "X-WR-TIMEZONE").strip()
    return zone_named(name) if is_valid_timezone(name) else tz


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
            found.append(_on_its_own(event))
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
            # A cancelled series takes its occurrences with it.
            cancelled = master.problem is CANCELLED
            event.problem = event.problem or (CANCELLED if cancelled else CHANGED_OCCURRENCE)
            found.append(event)
    return found


def _on_its_own(change: ParsedEvent) -> ParsedEvent:
    """Make a changed occurrence whose series is not in the file an appointment of its own.

    Google exports the occurrences of a repeating event someone was invited to, one by one.
    They share the series' UID, so each is known by its UID and original start together:
    importing the file again updates them. That key starts with the start, so that it never
    reads as the UID of one of sched's own appointments (views.ical.OWN_UID).
    """
    if change.problem is None and change.recurrence_id is not None:
        if change.uid:
            stamp = change.recurrence_id.strftime("%Y%m%dT%H%M%SZ/")
            change.uid = stamp + change.uid[: ICAL_UID_MAX - len(stamp)]
        change.recurrence_id = None
        change.notes.append(ON_ITS_OWN)
    return change


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
        self._zones: dict[str, _FileZone] = {}
        self._read = 0

    def place(self, value: datetime, tzid: str) -> datetime:
        """Put a wall-clock time on the zone the file defines under ``tzid``; _Skip if the file
        has none that can be used for it, naming the line that stops it if one does."""
        if tzid not in self._zones:
            self._zones[tzid] = self._read_zone(tzid)
        zone = self._zones[tzid]
        wall = value.replace(tzinfo=None)
        if zone.tz is not None and (zone.usable_from is None or wall >= zone.usable_from):
            return wall.replace(tzinfo=zone.tz)
        if zone.bad_line:
            raise _Skip(
                _l(
                    "Its time zone “%(zone)s” cannot be used: the line “%(line)s” of the "
                    "file’s definition of it is not valid.",
                    zone=tzid,
                    line=zone.bad_line,
                )
            )
        raise _Skip(_l("Its time zone “%(zone)s” is unknown or cannot be used.", zone=tzid))

    def _read_zone(self, tzid: str) -> _FileZone:
        definition = self._definitions.get(tzid)
        if definition is None:
            return _FileZone(None)
        mended, bad_line, usable_from = _without_bad_history(cast(Timezone, definition))
        if mended is None:
            return _FileZone(None, bad_line)
        if self._read >= MAX_FILE_ZONES or not _is_plain_zone(mended):
            return _FileZone(None)
        self._read += 1
        try:
            return _FileZone(mended.to_tz(lookup_tzid=False), bad_line, usable_from)
        except Exception:  # dateutil's, on a definition it cannot follow
            return _FileZone(None)


@dataclass(frozen=True)
class _FileZone:
    """A zone a file defines, as far as it can be used: ``tz`` (None: not at all) from the
    wall-clock time ``usable_from`` on (None: always); ``bad_line`` is what limits it."""

    tz: tzinfo | None
    bad_line: str = ""
    usable_from: datetime | None = None


def _without_bad_history(definition: Timezone) -> tuple[Timezone | None, str, datetime | None]:
    """Leave out of a zone definition its past observances with a value that cannot be read.

    Such an observance (one change of the clocks, which later ones follow) matters only until
    the next change: the rest of the definition holds from then on. A bad value in one that
    still applies spoils the zone. Return the definition (None if spoilt), the first bad line
    ("" if none) and the wall-clock time from which the definition holds (None: always).
    """
    observances = definition.subcomponents
    bad = [(observance, line) for observance in observances if (line := _bad_line(observance))]
    if not bad:
        return definition, "", None
    onsets = [onset for observance in observances if (onset := _onset(observance)) is not None]
    usable_from: datetime | None = None
    for observance, line in bad:
        onset = _onset(observance)
        later = [] if onset is None else [moment for moment in onsets if moment > onset]
        if "RRULE" in observance or "RDATE" in observance or not later:
            return None, line, None
        next_change = min(later)
        usable_from = next_change if usable_from is None else max(usable_from, next_change)
    mended = Timezone(definition)
    mended.subcomponents = [observance for observance in observances if not _bad_line(observance)]
    return mended, bad[0][1], usable_from


def _onset(observance: Component) -> datetime | None:
    """When an observance starts (DTSTART, wall-clock time), if that can be read."""
    prop = observance.get("DTSTART")
    value = None if prop is None or isinstance(prop, vBroken) else prop.dt
    return value.replace(tzinfo=None) if isinstance(value, datetime) else None


def _bad_line(component: Component, names: Iterable[str] | None = None) -> str:
    """The first line of the component (of those ``names``) whose value could not be read, as
    "NAME:value"; "" if there is none."""
    for name in names or list(component):
        for prop in _as_list(component.get(name)):
            if isinstance(prop, vBroken):
                return _quoted(prop)
    return ""


def _quoted(prop: vBroken) -> str:
    line = f"{prop.property_name}:{prop.to_ical().decode()}"
    return line if len(line) <= QUOTED_LINE_MAX else line[: QUOTED_LINE_MAX - 1] + "…"


def _readable(prop):
    """The property, if its value could be read; else _Skip, naming its line."""
    if isinstance(prop, vBroken):
        raise _Skip(_l("Its line “%(line)s” is not valid.", line=_quoted(prop)))
    return prop


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


def _read_event(event: Event, clocks: _Clocks, zones: _FileZones) -> ParsedEvent:
    """Turn one VEVENT into the appointment it would become, or say why it cannot.

    ``clocks`` are the zones of times that name none; ``zones`` the zones the file defines.
    """
    parsed = ParsedEvent(
        title=_one_line(_text(event, "SUMMARY")),
        location=_one_line(_text(event, "LOCATION")),
        description=_text(event, "DESCRIPTION"),
        uid=_text(event, "UID")[:ICAL_UID_MAX],
        category=_category(event),
        color=_color(event),
    )
    _fit_title(parsed)
    try:
        if event.get("RECURRENCE-ID") is not None:
            parsed.recurrence_id = _recurrence_id(event["RECURRENCE-ID"], clocks, zones)
        if str(event.get("STATUS", "")).upper() == "CANCELLED":
            raise _Skip(CANCELLED)
        _check_text(parsed)
        start, end, parsed.all_day = _event_times(event, clocks, zones)
        parsed.start, parsed.end = start, end
        if event.get("RRULE") is not None:
            _read_repeats(parsed, event, clocks, zones)
        parsed.reminder_minutes = _reminder_minutes(event, end - start)
    except _Skip as skip:
        parsed.problem = skip.args[0]
    return parsed


def _category(event: Event) -> str:
    """The event's first category (CATEGORIES), on one line and cut to fit; "" if none."""
    for prop in _as_list(event.get("CATEGORIES")):
        for name in getattr(prop, "cats", ()):
            text = _one_line(str(name)).replace("\\,", ",")
            if text and not has_control_characters(text):
                return text[:CATEGORY_MAX]
    return ""


def _color(event: Event) -> str:
    """The event's colour (COLOR, a CSS name) if it is one sched offers; "" otherwise."""
    name = _text(event, "COLOR").strip().lower()
    return name if name in COLORS else ""


def _fit_title(parsed: ParsedEvent) -> None:
    """Give an event without a title a placeholder; cut one too long to fit, with a note."""
    if not parsed.title:
        parsed.title = str(UNTITLED)
    elif len(parsed.title) > TITLE_MAX:
        parsed.title = parsed.title[: TITLE_MAX - 1].rstrip() + "…"
        parsed.notes.append(TITLE_CUT)


def _recurrence_id(prop, clocks: _Clocks, zones: _FileZones) -> datetime:
    """The original start of the occurrence a change replaces, in UTC; a date is midnight on
    the user's clock, as are the occurrences of an all-day series."""
    dated = not isinstance(_readable(prop).dt, datetime)
    return _moment(prop, None, clocks.user if dated else clocks.floating, zones)


def _reminder_minutes(event: Event, length: timedelta) -> int | None:
    """The lead time of the event's first alarm that rings before it starts, as the nearest
    that sched offers (the earlier of two as near); None if it has no such alarm."""
    for alarm in event.walk("VALARM"):
        lead = _alarm_lead(alarm, length)
        if lead is not None:
            minutes = lead / timedelta(minutes=1)
            return min(REMINDER_MINUTES, key=lambda offered: (abs(offered - minutes), -offered))
    return None


def _alarm_lead(alarm: Component, length: timedelta) -> timedelta | None:
    """How long before the start an alarm rings; None for an alarm at a set time (absolute),
    at or after the start, or unreadable."""
    trigger = alarm.get("TRIGGER")
    if trigger is None or isinstance(trigger, vBroken) or not isinstance(trigger.dt, timedelta):
        return None
    offset = trigger.dt
    if str(trigger.params.get("RELATED", "START")).upper() == "END":
        offset += length
    return -offset if offset < timedelta(0) else None


def _read_repeats(parsed: ParsedEvent, event: Event, clocks: _Clocks, zones: _FileZones) -> None:
    """Read a repeating event's rule, on the clock of its start's zone, and its EXDATEs and
    RDATEs; _Skip for a rule sched refuses (recurrence.parse_rule says why)."""
    rules = _as_list(event.get("RRULE"))
    if len(rules) != 1:
        raise _Skip(SEVERAL_RULES)
    zone, zone_name = _series_zone(event, clocks)
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


def _series_zone(event: Event, clocks: _Clocks) -> tuple[tzinfo, str]:
    """The zone a repeating event repeats on: its start's, if a named one (IANA, or a Windows
    name icalendar knows) or UTC; the floating times' for a floating start; else, for an
    all-day start or a file's own zone definition, the importing user's."""
    start = event.start
    if not isinstance(start, datetime):
        return clocks.user, str(clocks.user)
    if start.tzinfo is None:
        return clocks.floating, str(clocks.floating)
    if isinstance(start.tzinfo, ZoneInfo):
        return start.tzinfo, start.tzinfo.key
    if "TZID" not in event["DTSTART"].params:
        return UTC, "UTC"  # written in UTC (…Z)
    return clocks.user, str(clocks.user)


def _moments(
    event: Event, name: str, start: datetime, zone: tzinfo, zones: _FileZones
) -> list[datetime]:
    """The moments of an EXDATE or RDATE property (each line of it), in UTC: a date at the
    series' time of day, a floating time on its clock. At most MAX_COUNT of them."""
    found: list[datetime] = []
    for prop in _as_list(event.get(name)):
        for value in getattr(_readable(prop), "dts", ()):
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


def _text(component: Component, name: str) -> str:
    value = component.get(name)
    if isinstance(value, list):  # repeated, say once per language: the first will do
        value = value[0]
    return "" if value is None else str(value)


def _one_line(text: str) -> str:
    """Join the lines of a title or location that a calendar program let run over several."""
    return " ".join(line.strip() for line in LINE_BREAK.split(text) if line.strip())


def _check_text(parsed: ParsedEvent) -> None:
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


def _event_times(
    event: Event, clocks: _Clocks, zones: _FileZones
) -> tuple[datetime, datetime, bool]:
    """Return the appointment's start and end (both UTC), and whether it lasts all day."""
    try:
        start, end = event.start, event.end
        if isinstance(start, datetime) and isinstance(end, datetime):  # icalendar: both or neither
            return (*_timed(event, start, end, clocks.floating, zones), False)
        return (*_all_day(start, end, clocks.user), True)
    except _Skip:
        raise
    except Exception:  # icalendar raises ValueError; a file's own zone definition, anything
        line = _bad_line(event, ("DTSTART", "DTEND", "DURATION"))
        if not line:
            raise _Skip(UNREADABLE_TIMES) from None
        raise _Skip(
            _l("Its start or end could not be read. The line “%(line)s” is not valid.", line=line)
        ) from None


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
    """Place an event's wall-clock time in its zone; a floating time is on the clock ``tz``."""
    zone_id = prop.params.get("TZID")
    # icalendar itself knows IANA and Windows zone names; any other zone is the file's own.
    if zone_id and not isinstance(value.tzinfo, ZoneInfo):
        return zones.place(value, zone_id)
    if value.tzinfo is not None:
        return value
    value = value.replace(tzinfo=tz)
    if is_skipped_local_time(value):
        raise _Skip(SKIPPED_LOCAL_TIME)
    return value
