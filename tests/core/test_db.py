"""The UTC column type: aware datetimes in, aware UTC datetimes out, naive ones refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text as sa_text
from sqlalchemy.exc import StatementError

from app.extensions import db
from tests.support.factories import make_appointment


def test_aware_times_come_back_in_utc(app, user):
    berlin = datetime(2026, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    appointment = make_appointment(user, start=berlin, end=berlin + timedelta(hours=1))
    db.session.expire_all()
    assert appointment.start == datetime(2026, 6, 1, 10, 0, tzinfo=timezone.utc)
    assert appointment.start.tzinfo == timezone.utc
    assert appointment.created.tzinfo == timezone.utc


def test_naive_times_are_refused(app, user):
    with pytest.raises(StatementError, match="naive datetime"):
        make_appointment(user, start=datetime(2026, 6, 1, 12), end=datetime(2026, 6, 1, 13))
    db.session.rollback()


def test_modified_moves_on_update(app, user):
    appointment = make_appointment(user)
    created = appointment.modified
    appointment.title = "Changed"
    db.session.commit()
    assert appointment.modified >= created
    assert appointment.created <= appointment.modified


@pytest.mark.parametrize(
    ("stored", "read"),
    [
        ("2026-06-01 10:00:00.000000", datetime(2026, 6, 1, 10, 0, tzinfo=timezone.utc)),
        ("2026-06-01 10:00:00", datetime(2026, 6, 1, 10, 0, tzinfo=timezone.utc)),
        ("2026-06-01T12:00:00+02:00", datetime(2026, 6, 1, 10, 0, tzinfo=timezone.utc)),
        ("2026-06-01", datetime(2026, 6, 1, 0, 0, tzinfo=timezone.utc)),
    ],
)
def test_times_written_by_hand_read_back_in_utc(app, user, stored, read):
    """Text that another program wrote into the column (SQLite keeps what it is given)."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL keeps timestamps, not text")
    appointment = make_appointment(user)
    db.session.execute(
        sa_text("UPDATE appointment SET start_at = :stored WHERE id = :id"),
        {"stored": stored, "id": appointment.id},
    )
    db.session.expire_all()
    assert appointment.start == read
    assert appointment.start.tzinfo == timezone.utc
