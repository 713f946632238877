"""The appointment, as in the book, with UTC times and database-enforced rules."""

from __future__ import annotations

import functools
from datetime import datetime, timedelta, tzinfo
from typing import Any, cast

from sqlalchemy import (
    CheckConstraint,
    ColumnElement,
    ForeignKey,
    Index,
    Row,
    Select,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, scoped_session

from app.accounts.models import User
from app.core.db import UTCDateTime, now_utc
from app.core.timezones import UTC, local_days_in_utc, local_midnight, zone_named
from app.extensions import Model
from app.scheduling.recurrence import (
    EXPANSIONS_KEPT,
    MAX_RULE_LENGTH,
    Recurrence,
    last_end,
    occurrences_from,
)

TITLE_MAX = 255
LOCATION_MAX = 255
DESCRIPTION_MAX = 10_000
# secrets.token_urlsafe(16): 22 characters.
IDEMPOTENCY_KEY_LENGTH = 22
ICAL_UID_MAX = 255
CATEGORY_MAX = 64
# The colours an appointment can have, by their CSS names (which iCalendar's COLOR uses too,
# RFC 7986); "" is none, the calendar's own.
COLORS = ("royalblue", "seagreen", "firebrick", "darkorange", "rebeccapurple", "teal", "slategray")
# An all-day appointment reaches past its stored times to the ends of its local days (25 hours
# at most, more if the owner has moved zones since); look this much further on either side.
ALL_DAY_REACH = timedelta(days=2)


class Appointment(Model):
    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("end_at >= start_at", name="end_not_before_start"),
        Index("ix_appointment_owner_id_start_at", "owner_id", "start_at"),
        # For the admin panel's sorting, date filter and drill-down across all owners.
        Index("ix_appointment_start_at", "start_at"),
        Index("ix_appointment_end_at", "end_at"),
        Index("ix_appointment_title_id", "title", "id"),
        Index("ix_appointment_location_id", "location", "id"),
        Index("ix_appointment_all_day_id", "all_day", "id"),
        # The reminders still to send, for `flask send-reminders` (app/scheduling/reminders.py).
        Index("ix_appointment_remind_at", "remind_at"),
        # A create form sent twice (a double click, a retried request) makes one appointment.
        UniqueConstraint(
            "owner_id", "idempotency_key", name="uq_appointment_owner_id_idempotency_key"
        ),
        # Repeats (app/scheduling/recurrence.py): a series repeats on a zone of its own; an
        # exception replaces one occurrence of one series, at most one exception each.
        CheckConstraint("(rrule IS NULL) = (series_timezone IS NULL)", name="series_has_zone"),
        CheckConstraint(
            "(series_id IS NULL) = (recurrence_id IS NULL)", name="exception_names_occurrence"
        ),
        CheckConstraint("rrule IS NULL OR series_id IS NULL", name="exception_is_no_series"),
        UniqueConstraint(
            "series_id", "recurrence_id", name="uq_appointment_series_id_recurrence_id"
        ),
        # A user's series, for series_touching: a few rows, not all of the user's.
        Index(
            "ix_appointment_series_owner_id_start_at",
            "owner_id",
            "start_at",
            postgresql_where=text("rrule IS NOT NULL"),
            sqlite_where=text("rrule IS NOT NULL"),
        ),
        # An imported event, found again by its UID when the same file comes again.
        UniqueConstraint("owner_id", "ical_uid", name="uq_appointment_owner_id_ical_uid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Indexed by ix_appointment_owner_id_start_at, whose first column it is.
    owner_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    start: Mapped[datetime] = mapped_column("start_at", UTCDateTime)
    end: Mapped[datetime] = mapped_column("end_at", UTCDateTime)
    all_day: Mapped[bool] = mapped_column(default=False)
    location: Mapped[str] = mapped_column(String(LOCATION_MAX), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    # What it is, in the owner's words ("Work"), and its colour in every view (one of COLORS).
    category: Mapped[str] = mapped_column(String(CATEGORY_MAX), default="", server_default="")
    color: Mapped[str] = mapped_column(String(16), default="", server_default="")
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)
    # An e-mail this many minutes before the start (None: none); remind_at follows from it.
    reminder_minutes: Mapped[int | None] = mapped_column(default=None)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reminder_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # The random key of the create form that made it (None for other ways in): a second
    # submission of that form finds this appointment instead of making another.
    idempotency_key: Mapped[str | None] = mapped_column(
        String(IDEMPOTENCY_KEY_LENGTH), default=None
    )

    # A series: its rule (RRULE text as recurrence.parse_rule keeps it) and the zone it repeats
    # on, start and end being its first occurrence's; series_end is when its last occurrence
    # ends (None: it never ends), what the calendar's window query reads. None for the rest.
    rrule: Mapped[str | None] = mapped_column(String(MAX_RULE_LENGTH), default=None)
    series_timezone: Mapped[str | None] = mapped_column(String(64), default=None)
    series_end: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # An exception: the series one of whose occurrences it replaces, and that occurrence's
    # original start (its RECURRENCE-ID), which stays its identity wherever it is moved.
    series_id: Mapped[int | None] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), default=None
    )
    recurrence_id: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # The UID of the iCalendar event it was imported from (its series' for an exception: None).
    ical_uid: Mapped[str | None] = mapped_column(String(ICAL_UID_MAX), default=None)

    # Bumped by every UPDATE, which also checks it (SQLAlchemy's version counter): an edit
    # based on an older version, or of a row deleted meanwhile, matches no row and is refused.
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    owner: Mapped[User] = relationship()

    __mapper_args__ = {"version_id_col": version}

    @property
    def duration(self) -> timedelta:
        """How long it lasts; an all-day appointment counts whole days, the last one included."""
        return duration_of(self)

    @property
    def is_series(self) -> bool:
        return self.rrule is not None

    @property
    def recurrence(self) -> Recurrence | None:
        """The series' rule and first occurrence, on its own clock; None for the rest."""
        return recurrence_of(self)

    @classmethod
    def overlapping(cls, owner: User, start: datetime, end: datetime) -> Select:
        """Select the owner's appointments that touch [start, end), earliest first: single
        ones and exceptions, not series (``series_touching``).

        One range scan of the (owner, start) index: nothing the owner has can have begun more
        than their longest appointment before ``start`` and still be running.
        """
        earliest = start - timedelta(seconds=owner.longest_appointment_seconds)
        return (
            select(cls)
            .where(*cls.overlapping_criteria(owner.id, earliest, start, end))
            .order_by(cls.start, cls.id)
        )

    @classmethod
    def overlapping_criteria(
        cls, owner_id: Any, earliest: Any, start: Any, end: Any
    ) -> list[ColumnElement[bool]]:
        """overlapping()'s WHERE, of values or of bound parameters (a query built once)."""
        return [
            cls.owner_id == owner_id,
            cls.start >= earliest,
            cls.start < end,
            cls.end >= start,
            cls.rrule.is_(None),
        ]

    @classmethod
    def series_touching(cls, owner: User, start: datetime, end: datetime) -> Select:
        """Select the owner's series with an occurrence that may touch [start, end): begun
        before its end, and not over before its start."""
        return (
            select(cls)
            .where(*cls.series_touching_criteria(owner.id, start, end))
            .order_by(cls.start, cls.id)
        )

    @classmethod
    def series_touching_criteria(
        cls, owner_id: Any, start: Any, end: Any
    ) -> list[ColumnElement[bool]]:
        """series_touching()'s WHERE, as overlapping_criteria()."""
        return [
            cls.owner_id == owner_id,
            cls.rrule.is_not(None),
            cls.start < end,
            or_(cls.series_end.is_(None), cls.series_end >= start),
        ]

    def __repr__(self) -> str:
        return f"<Appointment {self.id} {self.title!r} {self.start.isoformat()}>"


# An appointment as stored: the mapped object, or a row of its columns read without the ORM
# (what the calendar pages read, app/scheduling/occurrences.py), with the same attribute names.
Stored = Appointment | Row[Any]


def duration_of(stored: Stored) -> timedelta:
    """Appointment.duration, of either form."""
    if stored.all_day:
        days = round((stored.end - stored.start) / timedelta(days=1)) + 1
        return timedelta(days=days)
    return stored.end - stored.start


def recurrence_of(stored: Stored) -> Recurrence | None:
    """Appointment.recurrence, of either form."""
    if stored.rrule is None:
        return None
    return _recurrence(
        stored.rrule, stored.start, stored.end, stored.all_day, stored.series_timezone
    )


# Made again for each series on each calendar page otherwise.
@functools.lru_cache(maxsize=EXPANSIONS_KEPT)
def _recurrence(
    rule: str, start: datetime, end: datetime, all_day: bool, zone_name: str | None
) -> Recurrence:
    return Recurrence(rule, start.astimezone(zone_named(zone_name)), end - start, all_day)


def covered_span(
    start: datetime, end: datetime, all_day: bool, zone: tzinfo
) -> tuple[datetime, datetime]:
    """Return the [start, end) an appointment occupies, in UTC; all-day ones fill their days."""
    if all_day:
        return local_days_in_utc(start.astimezone(zone).date(), end.astimezone(zone).date(), zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def spans_overlap(a: tuple[datetime, datetime], b: tuple[datetime, datetime]) -> bool:
    """Tell whether two [start, end) spans share a moment; a zero-length span is its instant."""
    (a_start, a_end), (b_start, b_end) = a, b
    return a_start == b_start or a_start < b_start < a_end or b_start < a_start < b_end


class ExcludedOccurrence(Model):
    """An occurrence deleted from its series (an EXDATE): the series and its original start."""

    __tablename__ = "appointment_exdate"

    series_id: Mapped[int] = mapped_column(
        ForeignKey("appointment.id", ondelete="CASCADE"), primary_key=True
    )
    recurrence_id: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)


# What the owner's calendar feed shows of the account (app/scheduling/feed.py).
FEED_ACCOUNT_FIELDS = ("full_name", "timezone")


@event.listens_for(Session, "before_flush")
def _keep_all_day_dates(session: Session, flush_context, instances) -> None:
    """Keep all-day appointments on their days when their owner moves to another zone.

    They are stored from local midnight to local midnight on the owner's clock; a move from
    Berlin to Los Angeles would otherwise show 20 December as the 19th. So their times, the
    original starts of their series' changed and left-out occurrences, and an all-day series'
    zone move along: the days stay the days. (Registered before the reminder hook below, which
    then reschedules their reminders.)
    """
    for user in [obj for obj in session.dirty if isinstance(obj, User)]:
        history = inspect(user).attrs.timezone.history
        if history.deleted and history.added and history.deleted[0] != history.added[0]:
            _move_all_day(session, user.id, history.deleted[0], history.added[0])


def _move_all_day(session: Session, owner_id: int, old_name: str, new_name: str) -> None:
    old, new = zone_named(old_name), zone_named(new_name)

    def same_day(moment: datetime, zone: tzinfo) -> datetime:
        return local_midnight(moment.astimezone(zone).date(), new).astimezone(UTC)

    rows = session.scalars(select(Appointment).filter_by(owner_id=owner_id, all_day=True)).all()
    series = {row.id: zone_named(row.series_timezone) for row in rows if row.rrule is not None}
    for row in rows:
        zone = series.get(row.id, old)
        row.start, row.end = same_day(row.start, zone), same_day(row.end, zone)
        if row.id in series:
            row.series_timezone = new_name
    if not series:
        return
    # What names an occurrence of an all-day series is a midnight on the series' clock.
    for exception in session.scalars(select(Appointment).where(Appointment.series_id.in_(series))):
        exception.recurrence_id = same_day(
            cast(datetime, exception.recurrence_id), series[cast(int, exception.series_id)]
        )
    for excluded in session.scalars(
        select(ExcludedOccurrence).where(ExcludedOccurrence.series_id.in_(series))
    ):
        excluded.recurrence_id = same_day(excluded.recurrence_id, series[excluded.series_id])


@event.listens_for(Session, "after_flush")
def _note_calendar_changes(session: Session, flush_context) -> None:
    """Move each owner's calendar_changed on when one of their appointments was written or
    deleted, or the name or zone their feed shows changed: the feed's Last-Modified. (The
    session still lists what it flushed; changes made by plain UPDATE or DELETE statements
    call calendar_changed themselves.)"""
    owners: set[int] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Appointment) and (
            obj not in session.dirty or session.is_modified(obj, include_collections=False)
        ):
            owners.add(obj.owner_id)
        elif isinstance(obj, User) and obj in session.dirty:
            state = inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in FEED_ACCOUNT_FIELDS):
                owners.add(obj.id)
    if owners:
        calendar_changed(session, owners)


def calendar_changed(session: Session | scoped_session, owner_ids: set[int]) -> None:
    """Note that these owners' calendars changed now (without a flush: a plain UPDATE)."""
    session.connection().execute(
        update(User).where(User.id.in_(owner_ids)).values(calendar_changed=now_utc())
    )


# What decides when a series' next reminder is due.
SCHEDULE_FIELDS = ("start", "end", "rrule", "series_timezone", "reminder_minutes", "all_day")


@event.listens_for(Session, "before_flush")
def _schedule_reminders(session: Session, flush_context, instances) -> None:
    """Keep remind_at in step with the start and the lead time; a moved reminder is due again.

    A series reminds of one occurrence at a time: remind_at is the reminder of the next one to
    start, moved on to the following one as each is sent (app/scheduling/reminders.py); a
    change to its times, rule or lead time looks for the next one again.
    """
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Appointment) or obj.start is None:
            continue
        if obj.rrule is not None:
            if obj in session.new or _schedule_changed(obj):
                obj.remind_at = next_reminder(obj, now_utc())
                obj.reminder_sent_at = None
            continue
        remind_at = (
            None
            if obj.reminder_minutes is None
            else obj.start - timedelta(minutes=obj.reminder_minutes)
        )
        if remind_at != obj.remind_at:
            obj.remind_at = remind_at
            obj.reminder_sent_at = None


def _schedule_changed(appointment: Appointment) -> bool:
    state = inspect(appointment)
    return any(state.attrs[name].history.has_changes() for name in SCHEDULE_FIELDS)


def next_reminder(series: Appointment, after: datetime) -> datetime | None:
    """When to remind of the series' first occurrence that starts after ``after``; None without
    a lead time or another occurrence. Occurrences deleted or changed since are skipped when
    the reminder is due."""
    recurrence = series.recurrence
    if recurrence is None or series.reminder_minutes is None:
        return None
    for occurrence in occurrences_from(recurrence, after):
        if occurrence.start > after:
            return occurrence.start - timedelta(minutes=series.reminder_minutes)
    return None


@event.listens_for(Session, "before_flush")
def _keep_series_end(session: Session, flush_context, instances) -> None:
    """Keep each series' series_end in step with its rule and first occurrence."""
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Appointment) or (obj.rrule is None and obj.series_end is None):
            continue
        # Typed as the columns are, yet None in a new appointment not filled in yet.
        start: datetime | None = obj.start
        if start is None:
            continue
        recurrence = obj.recurrence
        series_end = None if recurrence is None else last_end(recurrence)
        if series_end != obj.series_end:
            obj.series_end = series_end


@event.listens_for(Session, "before_flush")
def _track_longest_appointment(session: Session, flush_context, instances) -> None:
    """Keep each owner's longest appointment up to date, whichever code path writes it."""
    for obj in (*session.new, *session.dirty):
        if not isinstance(obj, Appointment):
            continue
        # Typed as the columns are, yet None in a new appointment not filled in yet.
        start: datetime | None = obj.start
        end: datetime | None = obj.end if start else None
        if start and end and obj.owner is not None:
            seconds = int((end - start).total_seconds())
            if seconds > (obj.owner.longest_appointment_seconds or 0):
                obj.owner.longest_appointment_seconds = seconds
