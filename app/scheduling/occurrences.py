"""What a calendar shows over a span of time: each single appointment, and each occurrence of
each series in its place, with the series' exceptions put in and its excluded dates left out.

Every view reads through here, so that the month, the week, the day, the agenda and the overlap
warning agree. A series' occurrences are expanded on read (app/scheduling/recurrence.py), never
stored. Whatever the number of series, a span costs one query: the rows (singles and
exceptions by where they are now, series by the years they cover) and the occurrences the
series no longer show as planned: excluded ones and those an exception replaces (found by their
original start, so that an occurrence moved out of the span still hides its original in it).
The agenda, open-ended, costs two.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import (
    BindParameter,
    CompoundSelect,
    Row,
    Select,
    bindparam,
    null,
    or_,
    select,
    union_all,
)

from app.accounts.models import User
from app.core.timezones import MAX_YEAR, UTC
from app.extensions import db
from app.scheduling.models import (
    ALL_DAY_REACH,
    Appointment,
    ExcludedOccurrence,
    Stored,
    covered_span,
    duration_of,
    recurrence_of,
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
    a series (then ``start``/``end`` are the occurrence's, the rest its series').

    ``recurrence_id`` is the original start of an occurrence, in UTC, which names it wherever it
    is moved; None for a single appointment. Plain values, copied once from the stored row
    (an Appointment or a row of SHOWN_COLUMNS): a month shows hundreds, and each read of a
    mapped attribute costs.
    """

    __slots__ = (
        "all_day",
        "color",
        "end",
        "id",
        "location",
        "planned",
        "recurrence_id",
        "series_id",
        "start",
        "title",
        "version",
    )

    def __init__(
        self,
        id: int,
        title: str,
        location: str,
        all_day: bool,
        start: datetime,
        end: datetime,
        series_id: int | None = None,
        recurrence_id: datetime | None = None,
        planned: bool = False,
        color: str = "",
        version: int = 0,
    ) -> None:
        self.id = id
        self.title = title
        self.location = location
        self.all_day = all_day
        self.start = start
        self.end = end
        self.series_id = series_id
        self.recurrence_id = recurrence_id
        # An occurrence as its series plans it (not an exception).
        self.planned = planned
        self.color = color
        # What guards a move of it: its own version; a planned occurrence's, its series'.
        self.version = version

    @classmethod
    def of(cls, stored: Stored) -> Instance:
        """A single appointment or an exception, where it is stored (a series: its first
        occurrence, as a stored row, not as the series plans it)."""
        return cls(
            stored.id,
            stored.title,
            stored.location,
            stored.all_day,
            stored.start,
            stored.end,
            stored.id if stored.rrule is not None else stored.series_id,
            stored.recurrence_id,
            color=stored.color,
            version=stored.version,
        )

    @classmethod
    def occurring(cls, series: Stored, occurrence: Occurrence) -> Instance:
        """An occurrence of a series as the series plans it."""
        return cls.all_occurring(series, [occurrence])[0]

    @classmethod
    def all_occurring(cls, series: Stored, occurrences: Iterable[Occurrence]) -> list[Instance]:
        """occurring() of many, the series read once."""
        id, title, location, all_day = series.id, series.title, series.location, series.all_day
        color, version = series.color, series.version
        return [
            cls(
                id,
                title,
                location,
                all_day,
                one.start,
                one.end,
                id,
                one.start,
                True,
                color,
                version,
            )
            for one in occurrences
        ]

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


# What a calendar page reads of each appointment, named as Appointment's attributes, in the
# order instances_between unpacks them; the rest (its description, when it was made and
# changed, its reminder) stays in the database.
SHOWN_COLUMNS = tuple(
    column.label(column.key)
    for column in (
        Appointment.id,
        Appointment.title,
        Appointment.start,
        Appointment.end,
        Appointment.all_day,
        Appointment.location,
        Appointment.color,
        Appointment.version,
        Appointment.rrule,
        Appointment.series_timezone,
        Appointment.series_id,
        Appointment.recurrence_id,
    )
)


def rows_between(owner: User, start: datetime, end: datetime) -> list[Appointment]:
    """The owner's appointments that touch [start, end): single ones and exceptions where they
    are, series with an occurrence that may; one query."""
    return list(
        db.session.scalars(
            select(Appointment).from_statement(union_all(*_touching(owner, start, end)))
        ).all()
    )


def _touching(owner: User, start: datetime, end: datetime) -> tuple[Select, Select]:
    return (
        Appointment.overlapping(owner, start, end).order_by(None),
        Appointment.series_touching(owner, start, end).order_by(None),
    )


def _shown_between(owner: User, start: datetime, end: datetime) -> Sequence[Row[Any]]:
    """rows_between() as rows of SHOWN_COLUMNS, read without the ORM; and after them, with
    only ``series_id`` and ``recurrence_id`` set, the occurrences of those series that are
    excluded in the span or replaced by an exception elsewhere (with the exceptions among the
    rows, _replaced's, in the same query)."""
    longest = timedelta(seconds=owner.longest_appointment_seconds)
    values = {
        "owner_id": owner.id,
        "start": start,
        "end": end,
        "earliest": start - longest,
        # An occurrence that touches the span began at most the longest appointment before it.
        "replaced_from": start - longest - ALL_DAY_REACH,
    }
    return db.session.execute(_span_query(), values).all()


@functools.cache
def _span_query() -> CompoundSelect:
    """_shown_between's query, built once (each page asks it), its values bound when run."""
    names = ("owner_id", "start", "end", "earliest", "replaced_from")
    params: list[BindParameter[Any]] = [bindparam(name) for name in names]
    owner_id, start, end, earliest, replaced_from = params
    singles = select(*SHOWN_COLUMNS).where(
        *Appointment.overlapping_criteria(owner_id, earliest, start, end)
    )
    series = select(*SHOWN_COLUMNS).where(
        *Appointment.series_touching_criteria(owner_id, start, end)
    )
    series_ids = series.with_only_columns(Appointment.id).scalar_subquery()
    blanks = [null()] * (len(SHOWN_COLUMNS) - 2)
    excluded = select(
        *blanks, ExcludedOccurrence.series_id, ExcludedOccurrence.recurrence_id
    ).where(
        ExcludedOccurrence.series_id.in_(series_ids),
        ExcludedOccurrence.recurrence_id >= replaced_from,
        ExcludedOccurrence.recurrence_id < end,
    )
    # Exceptions moved out of the span; those in it come with the singles.
    moved_out = select(*blanks, Appointment.series_id, Appointment.recurrence_id).where(
        Appointment.series_id.in_(series_ids),
        Appointment.recurrence_id >= replaced_from,
        Appointment.recurrence_id < end,
        or_(Appointment.start >= end, Appointment.end < start),
    )
    return union_all(singles, series, excluded, moved_out)


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
    shown: list[Instance] = []
    series = []
    replaced: set[tuple[int, datetime]] = set()
    for row in _shown_between(owner, start, end):
        # As SHOWN_COLUMNS are: unpacked, a row's values cost less than by name.
        (
            id,
            title,
            first,
            last,
            all_day,
            location,
            color,
            version,
            rrule,
            _,
            series_id,
            recurrence_id,
        ) = row
        if series_id is not None:
            replaced.add((series_id, recurrence_id))
        if id is None:
            continue
        if rrule is None:
            shown.append(
                Instance(
                    id,
                    title,
                    location,
                    all_day,
                    first,
                    last,
                    series_id,
                    recurrence_id,
                    color=color,
                    version=version,
                )
            )
        else:
            series.append(row)
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
    series: Stored,
    start: datetime,
    end: datetime,
    budget: int,
    replaced: set[tuple[int, datetime]],
) -> list[Instance]:
    series_id = series.id
    return Instance.all_occurring(
        series,
        (
            occurrence
            for occurrence in expand(_recurrence(series), start, end, limit=max(budget, 0))
            if (series_id, occurrence.start) not in replaced
        ),
    )


def _recurrence(series: Stored) -> Recurrence:
    recurrence = recurrence_of(series)
    if recurrence is None:
        raise ValueError(f"{series!r} is no series")
    return recurrence


def _replaced(
    series: Sequence[Stored], start: datetime | None, end: datetime | None
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
        earliest = start - max(duration_of(one) for one in series) - ALL_DAY_REACH
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
    singles = (
        Appointment.overlapping(owner, cutoff, END_OF_TIME)
        .with_only_columns(*SHOWN_COLUMNS)
        .limit(count)
        .subquery()
    )
    series_touching = Appointment.series_touching(owner, cutoff, END_OF_TIME).order_by(None)
    rows = db.session.execute(
        union_all(select(singles), series_touching.with_only_columns(*SHOWN_COLUMNS))
    ).all()
    series = [row for row in rows if row.rrule is not None]
    singles_first = sorted((Instance.of(row) for row in rows if row.rrule is None), key=_order)
    streams: list[Iterable[Instance]] = [singles_first]
    if series:
        replaced = _replaced(series, cutoff, None)
        streams.extend(_occurrences_after(one, cutoff, replaced) for one in series)
    return list(itertools.islice(heapq.merge(*streams, key=_order), count))


def _occurrences_after(
    series: Stored, cutoff: datetime, replaced: set[tuple[int, datetime]]
) -> Iterator[Instance]:
    series_id = series.id
    for occurrence in occurrences_from(_recurrence(series), cutoff):
        if (series_id, occurrence.start) not in replaced:
            yield Instance.occurring(series, occurrence)


def past(owner: User, cutoff: datetime, count: int) -> list[Instance]:
    """The last ``count`` instances that start before ``cutoff``, latest first (the agenda's
    past)."""
    singles = (
        select(*SHOWN_COLUMNS)
        .where(
            Appointment.owner_id == owner.id,
            Appointment.start < cutoff,
            Appointment.rrule.is_(None),
        )
        .order_by(Appointment.start.desc(), Appointment.id.desc())
        .limit(count)
        .subquery()
    )
    begun = select(*SHOWN_COLUMNS).where(
        Appointment.owner_id == owner.id,
        Appointment.rrule.is_not(None),
        Appointment.start < cutoff,
    )
    rows = db.session.execute(union_all(select(singles), begun)).all()
    series = [row for row in rows if row.rrule is not None]
    shown = [Instance.of(row) for row in rows if row.rrule is None]
    if series:
        replaced = _replaced(series, None, cutoff)
        for one in series:
            recurrence = _recurrence(one)
            hidden = sum(1 for series_id, _ in replaced if series_id == one.id)
            shown.extend(
                Instance.occurring(one, occurrence)
                for occurrence in occurrences_before(recurrence, cutoff, count + hidden)
                if (one.id, occurrence.start) not in replaced
            )
    shown.sort(key=_order, reverse=True)
    return shown[:count]
