"""The appointment, as in the book, with UTC times and database-enforced rules."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.accounts.models import User
from app.core.db import UTCDateTime, now_utc
from app.extensions import db

TITLE_MAX = 255
LOCATION_MAX = 255


class Appointment(db.Model):
    __tablename__ = "appointment"
    __table_args__ = (
        CheckConstraint("end_at >= start_at", name="end_not_before_start"),
        Index("ix_appointment_owner_id_start_at", "owner_id", "start_at"),
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
    created: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
    modified: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc, onupdate=now_utc)

    owner: Mapped[User] = relationship()

    @property
    def duration(self) -> timedelta:
        """How long it lasts; an all-day appointment counts whole days, the last one included."""
        if self.all_day:
            days = round((self.end - self.start) / timedelta(days=1)) + 1
            return timedelta(days=days)
        return self.end - self.start

    def __repr__(self) -> str:
        return f"<Appointment {self.id} {self.title!r} {self.start.isoformat()}>"
