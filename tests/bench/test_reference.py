"""The benchmark's bare reference page: the user's month grid, one query, no layout."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bench.reference import bp
from tests.support.factories import make_appointment, make_user


@pytest.fixture
def app(app):
    app.register_blueprint(bp)
    return app


def test_reference_page_shows_the_users_month_on_their_clock(logged_in, user):
    dentist = make_appointment(
        user, title="Dentist", start=datetime(2026, 8, 12, 8, 0, tzinfo=timezone.utc)
    )
    make_appointment(user, title="Later", start=datetime(2026, 10, 1, 8, 0, tzinfo=timezone.utc))
    make_appointment(
        make_user(), title="Not mine", start=datetime(2026, 8, 12, 9, 0, tzinfo=timezone.utc)
    )

    html = logged_in.get("/bench/reference/2026/8/").get_data(as_text=True)

    assert html.count("<td>") == 42
    assert f'<a href="/appointments/{dentist.id}/">Dentist</a> 10:00–11:00' in html
    assert "Later" not in html and "Not mine" not in html


def test_reference_page_leaves_series_and_their_exceptions_out(logged_in, user):
    weekly = make_appointment(
        user,
        title="Weekly",
        start=datetime(2026, 8, 3, 8, 0, tzinfo=timezone.utc),
        rrule="FREQ=WEEKLY",
        series_timezone="Europe/Berlin",
    )
    moved = datetime(2026, 8, 10, 8, 0, tzinfo=timezone.utc)
    make_appointment(
        user,
        title="Moved",
        start=moved + timedelta(hours=1),
        series_id=weekly.id,
        recurrence_id=moved,
    )

    html = logged_in.get("/bench/reference/2026/8/").get_data(as_text=True)

    assert html.count("<td>") == 42 and "Weekly" not in html and "Moved" not in html


def test_reference_page_needs_a_login(client):
    response = client.get("/bench/reference/2026/8/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
