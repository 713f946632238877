"""The private subscription feed: what it holds, and the version calendar programs cache.

Calendar programs fetch the feed every few minutes, all day, and a pen test tied up both uWSGI
workers with four parallel requests for a big one. So what one request may cost is bounded:

- **A window**: appointments from FEED_DAYS_BEFORE days before today (UTC) to FEED_DAYS_AFTER
  days after it, about three months back and a year ahead; older and later ones are left out.
- **A cap**: at most FEED_MAX_EVENTS appointments (about 0.6 s of icalendar's work on the
  2-core machine). Past the cap the nearest come first: those still to come or running today,
  soonest first, then the most recent before today.
- **A version**: a strong ETag from one query for the owner and three numbers, how many
  appointments they have, when the last one changed and when their calendar last changed
  (``User.calendar_changed``, which deletions move too), so that a calendar program that
  already has the feed gets 304 with no body and the feed is never built for it.

The window moves at midnight UTC, so the day is part of the version; the feed's DTSTAMP and
Last-Modified are the latest of that midnight and the changes. Equal versions therefore mean
equal bytes, which a strong ETag promises. The feed also has a rate limit per token
(app/accounts/ratelimits.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select

from app.accounts.models import User, calendar_token_digest
from app.core.timezones import UTC, local_midnight
from app.extensions import db
from app.scheduling.models import Appointment
from app.scheduling.occurrences import with_series

FEED_DAYS_BEFORE = 92
FEED_DAYS_AFTER = 366
FEED_MAX_EVENTS = 1000
# Change it when the feed's bytes change for the same appointments (a new property, say), so
# that calendar programs holding the old feed fetch the new one.
FEED_FORMAT = 2


@dataclass(frozen=True)
class Feed:
    """A feed's owner and what its version is made of; ``today`` is the UTC date it is for."""

    owner: User
    appointment_count: int
    last_change: datetime | None
    today: date

    @property
    def window(self) -> tuple[datetime, datetime]:
        """The appointments that touch [start, end) are in the feed, up to the cap."""
        midnight = self.midnight
        return midnight - timedelta(days=FEED_DAYS_BEFORE), midnight + timedelta(
            days=FEED_DAYS_AFTER
        )

    @property
    def midnight(self) -> datetime:
        return local_midnight(self.today, UTC)

    @property
    def stamp(self) -> datetime:
        """When this version of the feed came to be: its DTSTAMP and Last-Modified."""
        changes = (self.last_change, self.owner.calendar_changed)
        return max([self.midnight, *(moment for moment in changes if moment is not None)])

    def etag(self, host: str) -> str:
        """The version of the feed's bytes, without building them; ``host`` ends its UIDs."""
        owner = self.owner
        parts = (
            FEED_FORMAT,
            FEED_DAYS_BEFORE,
            FEED_DAYS_AFTER,
            FEED_MAX_EVENTS,
            self.today,
            host,
            owner.id,
            owner.full_name,
            owner.timezone,
            self.appointment_count,
            self.last_change.isoformat() if self.last_change else "",
            self.stamp.isoformat(),
        )
        return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]

    def appointments(self) -> tuple[list[Appointment], dict[int, list[datetime]]]:
        """The appointments in the feed, earliest first: the nearest FEED_MAX_EVENTS single
        ones in the window, those still to come (or running at midnight) before the past ones;
        and the series with an occurrence in the window, whole (``with_series``), with their
        excluded dates."""
        start, end = self.window
        midnight = self.midnight
        coming = db.session.scalars(
            Appointment.overlapping(self.owner, midnight, end).limit(FEED_MAX_EVENTS)
        ).all()
        room = FEED_MAX_EVENTS - len(coming)
        past: Sequence[Appointment] = []
        if room:
            earliest = start - timedelta(seconds=self.owner.longest_appointment_seconds)
            past = db.session.scalars(
                select(Appointment)
                .where(
                    Appointment.owner_id == self.owner.id,
                    Appointment.start >= earliest,
                    Appointment.start < midnight,
                    Appointment.end >= start,
                    Appointment.end < midnight,
                    Appointment.rrule.is_(None),  # series are read apart (series_touching)
                )
                .order_by(Appointment.start.desc(), Appointment.id.desc())
                .limit(room)
            ).all()
        series = db.session.scalars(Appointment.series_touching(self.owner, start, end)).all()
        return with_series([*reversed(past), *coming, *series])


def find_feed(token: str, today: date) -> Feed | None:
    """Find the active account whose feed token this is, with its feed's version: one query."""
    mine = Appointment.owner_id == User.id
    count = select(func.count(Appointment.id)).where(mine).correlate(User).scalar_subquery()
    last = select(func.max(Appointment.modified)).where(mine).correlate(User).scalar_subquery()
    row = db.session.execute(
        select(User, count, last).where(
            User.calendar_token_hash == calendar_token_digest(token), User.active.is_(True)
        )
    ).one_or_none()
    if row is None:
        return None
    owner, appointment_count, last_change = row
    return Feed(owner, appointment_count, last_change, today)
