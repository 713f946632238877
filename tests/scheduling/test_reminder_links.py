"""A reminder e-mail links to the site's configured address (SITE_URL), not to wherever the
sender happens to run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from app.scheduling.reminders import send_reminders
from tests.support.factories import make_appointment, make_user
from tests.support.zones import UTC


@pytest.fixture
def app_overrides():
    return {"SITE_URL": "https://sched.example.org"}


def test_a_reminder_links_to_the_configured_site_address(app, outbox):
    owner = make_user("site@example.com", timezone="Europe/Berlin")
    start = (datetime.now(UTC) + timedelta(minutes=30)).replace(microsecond=0)
    appointment = make_appointment(owner, title="Dentist", start=start, reminder_minutes=60)
    assert send_reminders() == 1
    (message,) = outbox
    assert f"https://sched.example.org/appointments/{appointment.id}/" in message.body
    assert "127.0.0.1" not in message.body and "localhost" not in message.body
