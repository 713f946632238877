"""Changing a series one occurrence at a time, from one on, or as a whole: the three answers to
"only this one, this and following, or all?", as RFC 5545 models them.

- Only this one: an exception, a row that names its series and the occurrence it replaces (its
  RECURRENCE-ID, the original start); deleting it excludes the date (EXDATE).
- This and following: the series ends before the occurrence (UNTIL, or the COUNT it had used
  up) and a new series starts from it, with the later exceptions and excluded dates.
- All: the series changes; its exceptions and excluded dates follow a moved start, and an
  exception whose occurrence the new rule no longer makes becomes an appointment of its own,
  so that nothing the user wrote is lost.

Each function changes the session and leaves the commit to the caller: the series' version
counter (bumped by every change, exceptions included) then refuses an edit made from a stale
page, as it does for single appointments.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask_babel import ngettext
from sqlalchemy import delete, select

from app.core.db import now_utc
from app.core.timezones import UTC
from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.recurrence import (
    MAX_COUNT,
    Occurrence,
    Recurrence,
    expand,
    parse_rule,
    rule_parts,
)

SECOND = timedelta(seconds=1)
# The columns an occurrence takes from its series, and an exception may change.
SHARED_FIELDS = (
    "title",
    "location",
    "description",
    "all_day",
    "reminder_minutes",
    "category",
    "color",
)


def _recurrence(series: Appointment) -> Recurrence:
    recurrence = series.recurrence
    if recurrence is None:
        raise ValueError(f"{series!r} is no series")
    return recurrence


def planned_at(series: Appointment, moment: datetime) -> Occurrence | None:
    """The occurrence the series' rule makes at ``moment``, if it makes one there (deleted or
    replaced since, or not)."""
    if moment < series.start:
        return None
    found = expand(_recurrence(series), moment, moment + SECOND, limit=10)
    return next((occurrence for occurrence in found if occurrence.start == moment), None)


def occurrence_of(series: Appointment, recurrence_id: datetime) -> Occurrence | None:
    """The occurrence of the series that starts at ``recurrence_id`` as planned, if the rule
    makes one there and it was not deleted; an exception may have replaced it since."""
    planned = planned_at(series, recurrence_id)
    if planned is None or _is_excluded(series, recurrence_id):
        return None
    return planned


def _is_excluded(series: Appointment, recurrence_id: datetime) -> bool:
    return db.session.get(ExcludedOccurrence, (series.id, recurrence_id)) is not None


def exception_for(series: Appointment, recurrence_id: datetime) -> Appointment | None:
    """The exception that replaces this occurrence, if there is one."""
    return db.session.scalar(
        select(Appointment).filter_by(series_id=series.id, recurrence_id=recurrence_id)
    )


def touch(series: Appointment) -> None:
    """Count a change of the series' exceptions as a change of the series (a new version)."""
    series.modified = now_utc()


# --- Only this one ------------------------------------------------------------------------------


def make_exception(series: Appointment, recurrence_id: datetime) -> Appointment:
    """A new exception for one occurrence, as the series has it (the caller fills in the rest)."""
    occurrence = occurrence_of(series, recurrence_id)
    if occurrence is None:
        raise ValueError(f"{series!r} has no occurrence at {recurrence_id}")
    exception = Appointment(
        owner=series.owner,
        start=occurrence.start,
        end=occurrence.end,
        series_id=series.id,
        recurrence_id=recurrence_id,
        **{name: getattr(series, name) for name in SHARED_FIELDS},
    )
    db.session.add(exception)
    touch(series)
    return exception


def delete_occurrence(series: Appointment, recurrence_id: datetime) -> None:
    """Delete one occurrence: its date is excluded, and its exception, if any, goes."""
    db.session.execute(
        delete(Appointment).filter_by(series_id=series.id, recurrence_id=recurrence_id)
    )
    if not _is_excluded(series, recurrence_id):
        db.session.add(ExcludedOccurrence(series_id=series.id, recurrence_id=recurrence_id))
    touch(series)


# --- This and following -------------------------------------------------------------------------


@dataclass
class Halves:
    """A series split at an occurrence: the part before it (None when the split is at the first
    occurrence: then the whole series is the later part) and the part from it on."""

    before: Appointment | None
    after: Appointment


def occurrences_before(series: Appointment, recurrence_id: datetime) -> int:
    """How many occurrences the series has before this one (excluded ones count: COUNT does)."""
    recurrence = _recurrence(series)
    found = expand(recurrence, series.start, recurrence_id, limit=MAX_COUNT + 1)
    return sum(1 for occurrence in found if occurrence.start < recurrence_id)


def end_before(series: Appointment, recurrence_id: datetime) -> None:
    """End the series just before this occurrence: a COUNT of the occurrences it had until
    then, or an UNTIL one second (an all-day series: one day) before it."""
    recurrence = _recurrence(series)
    parts = rule_parts(series.rrule or "")
    if "COUNT" in parts:
        parts["COUNT"] = str(occurrences_before(series, recurrence_id))
    else:
        if series.all_day:
            last_day = recurrence_id.astimezone(recurrence.zone).date() - timedelta(days=1)
            parts["UNTIL"] = last_day.strftime("%Y%m%d")
        else:
            parts["UNTIL"] = (recurrence_id - SECOND).astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    series.rrule = parse_rule(_text(parts), recurrence.start)
    touch(series)


def split(series: Appointment, recurrence_id: datetime) -> Halves:
    """Split the series at this occurrence: it ends before it, and a copy starts from it, with
    the COUNT it had left and the exceptions and excluded dates from there on. The caller then
    changes the later half as the user asked (``change_series``)."""
    if recurrence_id <= series.start:
        return Halves(None, series)
    occurrence = planned_occurrence(series, recurrence_id)
    parts = rule_parts(series.rrule or "")
    if "COUNT" in parts:
        parts["COUNT"] = str(int(parts["COUNT"]) - occurrences_before(series, recurrence_id))
    later = Appointment(
        owner=series.owner,
        start=occurrence.start,
        end=occurrence.end,
        rrule=parse_rule(_text(parts), occurrence.start.astimezone(_recurrence(series).zone)),
        series_timezone=series.series_timezone,
        **{name: getattr(series, name) for name in SHARED_FIELDS},
    )
    db.session.add(later)
    end_before(series, recurrence_id)
    db.session.flush()  # the new series' id, for the rows that move to it
    for exception in _exceptions(series, since=recurrence_id):
        if exception.recurrence_id == recurrence_id:
            # The occurrence split at is the later series' first, as the user changes it.
            db.session.delete(exception)
        else:
            exception.series_id = later.id
    for excluded in _excluded(series, since=recurrence_id):
        db.session.delete(excluded)
        db.session.add(ExcludedOccurrence(series_id=later.id, recurrence_id=excluded.recurrence_id))
    return Halves(series, later)


def planned_occurrence(series: Appointment, recurrence_id: datetime) -> Occurrence:
    """Where an occurrence an exception replaced was planned (the exception keeps the name)."""
    planned = planned_at(series, recurrence_id)
    if planned is None:
        raise ValueError(f"{series!r} has no occurrence at {recurrence_id}")
    return planned


def delete_from(series: Appointment, recurrence_id: datetime) -> bool:
    """Delete this occurrence and the following ones; True if that was the whole series."""
    if recurrence_id <= series.start:
        db.session.delete(series)
        return True
    end_before(series, recurrence_id)
    for exception in _exceptions(series, since=recurrence_id):
        db.session.delete(exception)
    for excluded in _excluded(series, since=recurrence_id):
        db.session.delete(excluded)
    return False


# --- All ----------------------------------------------------------------------------------------


def change_series(series: Appointment, moved_by: timedelta, rule: str | None) -> list[Appointment]:
    """After the series' fields were changed and its start moved by ``moved_by`` on its clock
    (the same times of day, or other ones), with ``rule`` as its new rule (None: it no longer
    repeats): move its exceptions' and excluded dates' names with it, and turn the exceptions
    whose occurrence the rule no longer makes into appointments of their own. Return those.
    """
    repeats = series.recurrence is not None and rule is not None
    exceptions = list(_exceptions(series))
    excluded = list(_excluded(series))
    for row in excluded:
        db.session.delete(row)
    db.session.flush()
    orphans = []
    for exception in exceptions:
        original = _moved(exception.recurrence_id, moved_by, series) if repeats else None
        if original is not None and _makes(series, original):
            exception.recurrence_id = original
        else:
            exception.series_id = None
            exception.recurrence_id = None
            orphans.append(exception)
    if repeats:
        for row in excluded:
            original = _moved(row.recurrence_id, moved_by, series)
            if _makes(series, original):
                db.session.add(ExcludedOccurrence(series_id=series.id, recurrence_id=original))
    touch(series)
    return orphans


def kept_apart_message(count: int) -> str:
    """What to tell the user of the changed occurrences ``change_series`` kept apart."""
    return ngettext(
        "A changed occurrence no longer fits the new rule: it was kept as an "
        "appointment of its own.",
        "%(num)d changed occurrences no longer fit the new rule: they were kept as "
        "appointments of their own.",
        count,
    )


def _moved(moment: datetime | None, moved_by: timedelta, series: Appointment) -> datetime:
    """An original start, moved as the series' start was: on the series' clock."""
    if moment is None:
        raise ValueError("an exception names its occurrence")
    zone = _recurrence(series).zone
    wall_clock = moment.astimezone(zone).replace(tzinfo=None) + moved_by
    return wall_clock.replace(tzinfo=zone).astimezone(UTC)


def _makes(series: Appointment, moment: datetime) -> bool:
    return planned_at(series, moment) is not None


def _exceptions(series: Appointment, since: datetime | None = None) -> Iterable[Appointment]:
    query = select(Appointment).filter_by(series_id=series.id)
    if since is not None:
        query = query.where(Appointment.recurrence_id >= since)
    return db.session.scalars(query).all()


def _excluded(series: Appointment, since: datetime | None = None) -> Iterable[ExcludedOccurrence]:
    query = select(ExcludedOccurrence).filter_by(series_id=series.id)
    if since is not None:
        query = query.where(ExcludedOccurrence.recurrence_id >= since)
    return db.session.scalars(query).all()


def _text(parts: dict[str, str]) -> str:
    return ";".join(f"{name}={value}" for name, value in parts.items())
