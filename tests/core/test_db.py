"""The UTC column type: aware datetimes in, aware UTC datetimes out, naive ones refused."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
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
