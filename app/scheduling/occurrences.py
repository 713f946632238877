"""What a calendar shows over a span of time: each single appointment, and each occurrence of
each series in its place, with the series' exceptions put in and its excluded dates left out.

Every view reads through here, so that the month, the week, the day, the agenda and the overlap
warning agree. A series' occurrences are expanded on read (app/scheduling/recurrence.py), never
stored. Whatever the number of series, a span costs two queries: the rows (singles and
exceptions by where they are now, series by the years they cover) and, when there are series,
the occurrences they no longer show as planned: excluded ones and those an exception replaces
(found by their original start, so that an occurrence moved out of the span still hides its
original in it).
"""

from __future__ import annotations

import bisect
import copy
import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import or_, select, union_all

from app.accounts.models import User
from app.core.timezones import MAX_YEAR, UTC
from app.extensions import db
from app.scheduling.models import (
    ALL_DAY_REACH,
    Appointment,
    ExcludedOccurrence,
    covered_span,
    spans_overlap,
)
from app.scheduling.recurrence import (
    Occurrence,
    Recurrence,
    expand,
    occurrences_before,
    occurrences_from,
)

END_OF_TIME = datetime(MAX_YEAR + 1, 1, 1, tzinfo=UTC)
# What one request expands at most, all series together: a month of 300 daily series.
MAX_SHOWN = 10_000
# An occurrence in a URL: its original start in UTC, as iCalendar writes it (20260506T070000Z).
STAMP_FORMAT = "%Y%m%dT%H%M%SZ"


class Instance:
    """One appointment as a calendar shows it: a single one, an exception, or an occurrence of
    a series (then ``appointment`` is the series and ``start``/``end`` are the occurrence's).

    ``recurrence_id`` is the original start of an occurrence, in UTC, which names it wherever it
    is moved; None for a single appointment. What a page reads of it is copied once, when it is
    made: a month shows hundreds, and each read of a mapped attribute costs.
    """

    __slots__ = (
        "all_day",
        "appointment",
        "end",
        "id",
        "location",
        "planned",
        "recurrence_id",
        "series_id",
        "start",
        "title",
    )

    def __init__(
        self,
        appointment: Appointment,
        start: datetime,
        end: datetime,
        recurrence_id: datetime | None = None,
    ) -> None:
        self.appointment = appointment
        self.start = start
        self.end = end
        self.recurrence_id = recurrence_id
        self.id: int = appointment.id
        self.title: str = appointment.title
        self.location: str = appointment.location
        self.all_day: bool = appointment.all_day
        is_series = appointment.rrule is not None
        self.series_id: int | None = appointment.id if is_series else appointment.series_id
        # An occurrence as its series plans it (not an exception).
        self.planned: bool = is_series and recurrence_id is not None

    @classmethod
    def of(cls, appointment: Appointment) -> Instance:
        """A single appointment or an exception, where it is stored."""
        return cls(appointment, appointment.start, appointment.end, appointment.recurrence_id)

    def moved_to(self, occurrence: Occurrence) -> Instance:
        """Another occurrence of the same series (copied, not read again)."""
        other = copy.copy(self)
        other.start = other.recurrence_id = occurrence.start
        other.end = occurrence.end
        return other

    @property
    def repeating(self) -> bool:
        """An occurrence of a series, moved or changed (an exception) or as planned."""
        return self.recurrence_id is not None

    @property
    def link(self) -> dict[str, Any]:
        """url_for's values for the pages of this instance: an occurrence as planned is its
        series' page with the occurrence named; a single one or an exception is its own."""
        if self.planned and self.recurrence_id is not None:
            return {"appointment_id": self.id, "occurrence": stamp(self.recurrence_id)}
        return {"appointment_id": self.id}

    def __repr__(self) -> str:
        return f"<Instance {self.id} {self.title!r} {self.start.isoformat()}>"


def stamp(moment: datetime) -> str:
    """An occurrence's original start as URLs carry it."""
    return moment.astimezone(UTC).strftime(STAMP_FORMAT)


def parse_stamp(text: str) -> datetime | None:
    """The moment a stamp names, or None for text that is no stamp."""
    try:
        return datetime.strptime(text, STAMP_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


# What a calendar page reads of each appointment; the rest (its description, when it was made
# and changed, its reminder) stays in the database: fewer values to convert, on every page.
SHOWN_COLUMNS = (
    Appointment.id,
    Appointment.owner_id,
    Appointment.title,
    Appointment.start,
    Appointment.end,
    Appointment.all_day,
    Appointment.location,
    Appointment.rrule,
    Appointment.series_timezone,
    Appointment.series_id,
    Appointment.recurrence_id,
    Appointment.version,
)


def rows_between(
    owner: User, start: datetime, end: datetime, shown_only: bool = False
) -> list[Appointment]:
    """The owner's rows that touch [start, end): single appointments and exceptions where they
    are, series with an occurrence that may; one query. ``shown_only``: the SHOWN_COLUMNS."""
    singles = Appointment.overlapping(owner, start, end).order_by(None)
    series = Appointment.series_touching(owner, start, end).order_by(None)
    if shown_only:
        singles, series = (
            singles.with_only_columns(*SHOWN_COLUMNS),
            series.with_only_columns(*SHOWN_COLUMNS),
        )
    return list(
        db.session.scalars(select(Appointment).from_statement(union_all(singles, series))).all()
    )


def with_series(
    rows: Sequence[Appointment],
) -> tuple[list[Appointment], dict[int, list[datetime]]]:
    """Complete rows for iCalendar, which carries a series whole: each series among them, or
    whose exception is, comes with all its exceptions; and the series' excluded dates, by id.
    Two queries more when there are series, none otherwise."""
    ids = {row.id for row in rows if row.is_series}
    ids |= {row.series_id for row in rows if row.series_id is not None}
    if not ids:
        return list(rows), {}
    related = db.session.scalars(
        select(Appointment).where(or_(Appointment.id.in_(ids), Appointment.series_id.in_(ids)))
    ).all()
    by_id = {row.id: row for row in [*rows, *related]}
    excluded: dict[int, list[datetime]] = {}
    for row in db.session.scalars(
        select(ExcludedOccurrence).where(ExcludedOccurrence.series_id.in_(ids))
    ):
        excluded.setdefault(row.series_id, []).append(row.recurrence_id)
    return sorted(by_id.values(), key=lambda row: (row.start, row.id)), excluded


def instances_between(
    owner: User, start: datetime, end: datetime, limit: int = MAX_SHOWN
) -> list[Instance]:
    """What touches [start, end) (starts before its end, ends at or after its start), earliest
    first: the owner's single appointments and exceptions, and their series' occurrences, at
    most ``limit`` of those."""
    rows = rows_between(owner, start, end, shown_only=True)
    series = [row for row in rows if row.is_series]
    shown = [Instance.of(row) for row in rows if not row.is_series]
    if series:
        replaced = _replaced(series, start, end)
        budget = limit
        for one in series:
            occurrences = _planned(one, start, end, budget, replaced)
            budget -= len(occurrences)
            shown.extend(occurrences)
    shown.sort(key=_order)
    return shown


def clashing(
    owner: User,
    start: datetime,
    end: datetime,
    all_day: bool,
    zone: tzinfo,
    excluding: Appointment | None = None,
) -> list[Instance]:
    """Return what the owner has that shares a moment with [start, end), earliest first:
    single appointments and occurrences, leaving out ``excluding`` (an appointment being edited;
    a series with its exceptions).

    The rule is covered_span's: all-day appointments fill their days on ``zone``'s clock
    (the viewer's), and a zero-length appointment is the instant it starts.
    """
    span = covered_span(start, end, all_day, zone)
    return [
        other
        for other in instances_between(owner, span[0] - ALL_DAY_REACH, span[1] + ALL_DAY_REACH)
        if not (excluding is not None and excluding.id in (other.id, other.series_id))
        and spans_overlap(span, covered_span(other.start, other.end, other.all_day, zone))
    ]


# How far ahead a new or changed series is checked for overlaps, and how many of its
# occurrences at most.
CLASH_HORIZON = timedelta(days=366)
CLASH_OCCURRENCES = 100


def series_clashing(
    owner: User, recurrence: Recurrence, zone: tzinfo, excluding: Appointment | None = None
) -> list[Instance]:
    """What the owner has that shares a moment with an occurrence of this rule in its first
    year (its first CLASH_OCCURRENCES at most), earliest first, each once."""
    first = recurrence.start.astimezone(UTC)
    planned = expand(recurrence, first, first + CLASH_HORIZON, limit=CLASH_OCCURRENCES)
    if not planned:
        return []
    spans = [covered_span(o.start, o.end, recurrence.all_day, zone) for o in planned]
    others = instances_between(owner, spans[0][0] - ALL_DAY_REACH, spans[-1][1] + ALL_DAY_REACH)
    found = []
    for other in others:
        if excluding is not None and excluding.id in (other.id, other.series_id):
            continue
        span = covered_span(other.start, other.end, other.all_day, zone)
        # The occurrences that start before this one ends: a search, not a scan of each.
        last = bisect.bisect_right(spans, (span[1], span[1]))
        if any(spans_overlap(span, mine) for mine in spans[max(0, last - 2) : last + 1]):
            found.append(other)
    return found


def _order(instance: Instance) -> tuple[datetime, int]:
    return instance.start, instance.id


def _planned(
    series: Appointment,
    start: datetime,
    end: datetime,
    budget: int,
    replaced: set[tuple[int, datetime]],
) -> list[Instance]:
    return _instances(
        series,
        (
            occurrence
            for occurrence in expand(_recurrence(series), start, end, limit=max(budget, 0))
            if (series.id, occurrence.start) not in replaced
        ),
    )


def _recurrence(series: Appointment) -> Recurrence:
    recurrence = series.recurrence
    if recurrence is None:
        raise ValueError(f"{series!r} is no series")
    return recurrence


def _instance(series: Appointment, occurrence: Occurrence) -> Instance:
    return Instance(series, occurrence.start, occurrence.end, occurrence.start)


def _instances(series: Appointment, occurrences: Iterable[Occurrence]) -> list[Instance]:
    """Instances of these occurrences of one series, the series read once."""
    found: list[Instance] = []
    for occurrence in occurrences:
        found.append(found[0].moved_to(occurrence) if found else _instance(series, occurrence))
    return found


def _replaced(
    series: Sequence[Appointment], start: datetime | None, end: datetime | None
) -> set[tuple[int, datetime]]:
    """(series id, original start) of the occurrences these series no longer show as planned
    in [start, end) (None: unbounded): excluded ones, and those an exception replaces,
    wherever it is now. As many as the owner made, whatever the span."""
    ids = [one.id for one in series]
    excluded = select(ExcludedOccurrence.series_id, ExcludedOccurrence.recurrence_id).where(
        ExcludedOccurrence.series_id.in_(ids)
    )
    exceptions = select(Appointment.series_id, Appointment.recurrence_id).where(
        Appointment.series_id.in_(ids)
    )
    if start is not None:
        # An occurrence that touches the span began at most its length before it.
        earliest = start - max(one.duration for one in series) - ALL_DAY_REACH
        excluded = excluded.where(ExcludedOccurrence.recurrence_id >= earliest)
        exceptions = exceptions.where(Appointment.recurrence_id >= earliest)
    if end is not None:
        excluded = excluded.where(ExcludedOccurrence.recurrence_id < end)
        exceptions = exceptions.where(Appointment.recurrence_id < end)
    return {
        (series_id, _utc(moment))
        for series_id, moment in db.session.execute(union_all(excluded, exceptions))
    }


def _utc(moment: datetime | str) -> datetime:
    # A UNION's columns may come back as the database wrote them: naive UTC, or its text.
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def upcoming(owner: User, cutoff: datetime, count: int) -> list[Instance]:
    """The first ``count`` instances that end at or after ``cutoff``, earliest first (the
    agenda): single appointments and occurrences merged, each series expanded only as far as
    it is needed."""
    singles = Appointment.overlapping(owner, cutoff, END_OF_TIME).limit(count).subquery()
    rows = db.session.scalars(
        select(Appointment).from_statement(
            union_all(
                select(singles),
                Appointment.series_touching(owner, cutoff, END_OF_TIME).order_by(None),
            )
        )
    ).all()
    series = [row for row in rows if row.is_series]
    singles_first = sorted((Instance.of(row) for row in rows if not row.is_series), key=_order)
    streams: list[Iterable[Instance]] = [singles_first]
    if series:
        replaced = _replaced(series, cutoff, None)
        streams.extend(_occurrences_after(one, cutoff, replaced) for one in series)
    return list(itertools.islice(heapq.merge(*streams, key=_order), count))


def _occurrences_after(
    series: Appointment, cutoff: datetime, replaced: set[tuple[int, datetime]]
) -> Iterator[Instance]:
    for occurrence in occurrences_from(_recurrence(series), cutoff):
        if (series.id, occurrence.start) not in replaced:
            yield _instance(series, occurrence)


def past(owner: User, cutoff: datetime, count: int) -> list[Instance]:
    """The last ``count`` instances that start before ``cutoff``, latest first (the agenda's
    past)."""
    singles = (
        select(Appointment)
        .where(
            Appointment.owner_id == owner.id,
            Appointment.start < cutoff,
            Appointment.rrule.is_(None),
        )
        .order_by(Appointment.start.desc(), Appointment.id.desc())
        .limit(count)
        .subquery()
    )
    begun = select(Appointment).where(
        Appointment.owner_id == owner.id,
        Appointment.rrule.is_not(None),
        Appointment.start < cutoff,
    )
    rows = db.session.scalars(
        select(Appointment).from_statement(union_all(select(singles), begun))
    ).all()
    series = [row for row in rows if row.is_series]
    shown = [Instance.of(row) for row in rows if not row.is_series]
    if series:
        replaced = _replaced(series, None, cutoff)
        for one in series:
            recurrence = _recurrence(one)
            hidden = sum(1 for series_id, _ in replaced if series_id == one.id)
            shown.extend(
                _instance(one, occurrence)
                for occurrence in occurrences_before(recurrence, cutoff, count + hidden)
                if (one.id, occurrence.start) not in replaced
            )
    shown.sort(key=_order, reverse=True)
    return shown[:count]
