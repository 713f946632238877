"""The appointment form against anything a client may send (Hypothesis).

Titles and places in any Unicode, control characters and over-long ones included; dates and
times valid, impossible or garbled, near clock changes; all day or not; in any time zone. Each
example is posted through the test client as a browser would, and:

- the answer is never a server error: 302 when saved, 400 when refused;
- what is saved is what was sent (text stripped, times from the user's clock to UTC), and the
  detail page shows it;
- what is refused leaves the database as it was, and the form shows why;
- it is saved exactly when the rules of app/core/validators.py say it may be.

One app and database for the module; each example starts from a database without appointments.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import delete, select

from app import create_app
from app.core.timezones import timezone_names
from app.core.validators import LINE_BREAKS_AND_TABS, MAX_YEAR, MIN_YEAR, has_control_characters
from app.extensions import db
from app.core.fields import HTML_DATETIME_FORMATS
from app.scheduling.models import DESCRIPTION_MAX, LOCATION_MAX, TITLE_MAX, Appointment
from tests.support.browser import Browser, RequestIsolatingClient
from tests.support.factories import make_user
from tests.support.snapshot import snapshot
from tests.support.zones import UTC

CREATE = "/appointments/create/"

# Wall-clock times a client may send: valid ones in and around the years accepted, in each of
# the formats the form reads, and others that are no date at all.
local_times = st.datetimes(min_value=datetime(MIN_YEAR - 10, 1, 1),
                           max_value=datetime(MAX_YEAR + 10, 12, 31))
well_formed = st.builds(
    lambda moment, fmt: moment.strftime(fmt), local_times, st.sampled_from(HTML_DATETIME_FORMATS)
)
malformed = st.sampled_from([
    "", " ", "2025-02-30T10:00", "2025-04-31T10:00", "2100-02-29T00:00", "0000-01-01T10:00",
    "99999-01-01T10:00", "2026-01-15T25:00", "2026-01-15T10:60", "2026-13-01T10:00",
    "2026-01-15", "2026-01-15T10:00Z", "2026-01-15T10:00+02:00", "tomorrow", "2026-01-15T10:00\x00",
]) | st.text(max_size=20)
times = well_formed | malformed
# Times near clock changes, with the zone they are in: skipped, doubled, or at midnight.
CLOCK_CHANGES = [
    ("Europe/Berlin", "2026-03-29T02:30"),  # skipped: 02:00 -> 03:00
    ("Europe/Berlin", "2026-10-25T02:30"),  # happens twice
    ("America/New_York", "2026-03-08T02:00"),
    ("America/Havana", "2026-03-08T00:00"),  # midnight skipped
    ("America/Santiago", "2026-09-06T00:30"),
    ("Australia/Lord_Howe", "2026-10-04T02:15"),  # half an hour skipped
    ("Pacific/Apia", "2011-12-30T12:00"),  # the whole day skipped
    ("Asia/Kolkata", "2026-01-15T10:00"),
]
texts = (
    st.text(max_size=30)
    | st.text(min_size=TITLE_MAX - 3, max_size=TITLE_MAX + 3)
    | st.sampled_from(
        ["  Dentist  ", "\tDentist", "Den\x00tist", "Den\ntist", "\x1b[31m", "\u3000"]
    )
)


def long_texts(limit: int):
    """Text of about ``limit`` characters, a short piece repeated (Hypothesis draws fewer)."""
    return st.builds(
        lambda piece, size: (piece * size)[:size],
        st.text(min_size=1, max_size=5),
        st.integers(limit - 2, limit + 2),
    )


# What people type: no control characters (line breaks in a description).
plain = st.characters(exclude_categories=("Cc", "Cs"))
sensible_times = st.datetimes(min_value=datetime(MIN_YEAR, 1, 1),
                              max_value=datetime(MAX_YEAR, 12, 29))


@st.composite
def submissions(draw):
    """A time zone for the user and what they send: half of it sensible, half anything."""
    if draw(st.integers(0, 3)) == 0:
        zone, start = draw(st.sampled_from(CLOCK_CHANGES))
    else:
        zone, start = draw(st.sampled_from(timezone_names())), None
    if draw(st.booleans()):
        fmt = draw(st.sampled_from(HTML_DATETIME_FORMATS))
        begins = datetime.fromisoformat(start) if start else draw(sensible_times)
        ends = begins + draw(st.timedeltas(timedelta(0), timedelta(days=3)))
        data = {
            "title": draw(st.text(plain, min_size=1, max_size=60)),
            "start": begins.strftime(fmt),
            "end": ends.strftime(fmt),
            "location": draw(st.text(plain, max_size=30)),
            "description": draw(st.text(plain | st.sampled_from("\n\r\t"), max_size=60)),
        }
    else:
        data = {
            "title": draw(texts),
            "start": start or draw(times),
            "end": draw(times),
            "location": draw(st.text(max_size=10) | st.text(min_size=LOCATION_MAX, max_size=260)),
            "description": draw(st.text(max_size=50) | long_texts(DESCRIPTION_MAX)),
        }
    if draw(st.booleans()):
        data["all_day"] = "y"
    return zone, data


def expected_appointment(zone_name: str, data: dict) -> dict | None:
    """What the rules say is saved for this submission; None when it must be refused."""
    zone = ZoneInfo(zone_name)
    title, location = data["title"].strip(), data["location"].strip()
    description = data["description"]
    if not title or len(title) > TITLE_MAX or has_control_characters(title):
        return None
    if len(location) > LOCATION_MAX or has_control_characters(location):
        return None
    if len(description) > DESCRIPTION_MAX or has_control_characters(
        description, LINE_BREAKS_AND_TABS
    ):
        return None
    start, end = (local_time(data[name], zone) for name in ("start", "end"))
    if start is None or end is None:
        return None
    if "all_day" in data:
        # Whole days; an end at midnight after the first day closes the day before.
        last = end.date()
        if end.time() == time.min and last > start.date():
            last -= timedelta(days=1)
        start = datetime.combine(start.date(), time.min, tzinfo=zone)
        end = datetime.combine(last, time.min, tzinfo=zone)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end < start:
        return None
    return {"title": title, "location": location, "description": description,
            "start": start, "end": end, "all_day": "all_day" in data}


def local_time(text: str, zone: ZoneInfo) -> datetime | None:
    """The time on the user's clock, if it is one: a known format, a year accepted, not skipped."""
    for fmt in HTML_DATETIME_FORMATS:
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        if not MIN_YEAR <= naive.year <= MAX_YEAR:
            return None
        aware = naive.replace(tzinfo=zone)
        if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
            return None  # the clocks skip it
        return aware
    return None


@pytest.fixture(scope="module")
def site(module_database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": module_database_url})
    app.test_client_class = RequestIsolatingClient
    with app.app_context():
        user = make_user("owner@example.com")
        browser = Browser(app.test_client())
        browser.login(user.email)
        yield browser, user, browser.token("/appointments/")
        db.session.remove()
        db.engine.dispose()


def stored() -> list[Appointment]:
    db.session.expire_all()
    return db.session.scalars(select(Appointment)).all()


@settings(max_examples=100, deadline=None)
@given(submissions())
def test_the_form_saves_what_the_rules_allow_and_nothing_else(site, submission):
    browser, user, token = site
    zone, data = submission
    user.timezone = zone
    db.session.commit()
    try:
        before = snapshot(["appointment", "user"])
        expected = expected_appointment(zone, data)
        event("refused" if expected is None else "saved")

        response = browser.client.post(CREATE, data={**data, "csrf_token": token})

        html = response.get_data(as_text=True)
        assert response.status_code in (302, 400), (response.status_code, html[-2000:])
        if expected is None:
            assert response.status_code == 400
            assert re.search(r'class="[^"]*is-invalid', html), "the form says what is wrong"
            assert snapshot(["appointment", "user"]) == before
            return
        assert response.status_code == 302, html[-2000:]
        [appointment] = stored()
        saved = {name: getattr(appointment, name) for name in expected}
        assert saved == expected
        assert appointment.end >= appointment.start
        detail = browser.get(response.headers["Location"]).get_data(as_text=True)
        assert str(escape(expected["title"])) in detail
    finally:
        db.session.rollback()
        db.session.execute(delete(Appointment))
        user.longest_appointment_seconds = 0
        db.session.commit()
