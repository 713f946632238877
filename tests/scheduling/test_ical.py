"""iCalendar: downloads, the subscription feed and import, through HTTP and as plain functions."""

from __future__ import annotations

import random
import re
import secrets
import time
from datetime import date, datetime, timedelta
from io import BytesIO
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar
from itsdangerous import TimestampSigner
from sqlalchemy import event, insert, select, text
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from app.accounts.models import calendar_token_digest
from app.extensions import db
from app.scheduling.feed import FEED_DAYS_AFTER, FEED_DAYS_BEFORE, FEED_MAX_EVENTS
from app.scheduling.ical import (
    NO_EVENTS,
    NOT_ICALENDAR,
    NOT_UTF8,
    ICalendarError,
    build_calendar,
    parse_ics,
)
from app.scheduling.forms import IMPORT_MAX_BYTES, sign_import
from app.scheduling.models import Appointment
from app.scheduling.views.ical import slugify
from tests.support.browser import csrf_token_from
from tests.support.factories import make_appointment, make_feed_token, make_user
from tests.support.queries import count_appointments
from tests.support.zones import BERLIN, UTC


def ics(*events: str, extra: str = "") -> bytes:
    """Wrap VEVENT bodies (lines joined by \\n) in a calendar, with CRLF line ends."""
    body = "".join(f"BEGIN:VEVENT\n{event.strip()}\nEND:VEVENT\n" for event in events)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//test//test//EN\n{extra}{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def parse_response(response) -> Calendar:
    assert response.status_code == 200, response.get_data(as_text=True)
    return Calendar.from_ical(response.data)


def upload(browser, data: bytes, filename: str = "calendar.ics"):
    """Send a file from the import page as a browser would.

    The body is encoded here, in memory: the test client would spool a large one to a temporary
    file that it never closes.
    """
    values = {
        "csrf_token": browser.token("/calendar/import/"),
        "file": FileStorage(BytesIO(data), filename=filename, content_type="text/calendar"),
    }
    boundary, body = encode_multipart(values)
    return browser.client.post(
        "/calendar/import/",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        follow_redirects=True,
    )


def payload_from(html: str) -> str:
    match = re.search(r'<input [^>]*name="payload"[^>]*value="([^"]+)"', html)
    assert match, "no payload on the preview page"
    return match.group(1)


def confirm(browser, html: str, payload: str | None = None):
    data = {"csrf_token": csrf_token_from(html), "payload": payload or payload_from(html)}
    return browser.client.post("/calendar/import/confirm/", data=data, follow_redirects=True)


def field_errors(html: str, field: str) -> str:
    parts = html.split(f'id="{field}-errors"', 1)
    assert len(parts) == 2, f"no error block for {field}"
    return parts[1].split("</div>\n  </div>", 1)[0]


# ----------------------------------------------------------------------------------------------
# Download one appointment
# ----------------------------------------------------------------------------------------------


def test_download_one_appointment_as_an_ics_file(logged_in, user):
    appointment = make_appointment(
        user,
        title="Dentist: Dr. Müller, room 2",
        start=berlin(2026, 1, 15, 10),
        end=berlin(2026, 1, 15, 11, 30),
        location="Main street 1; back door, 2nd floor",
        description="Bring the card, please;\nask about the bill.\\ok",
    )
    response = logged_in.get(f"/appointments/{appointment.id}/ics")
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "dentist-dr-muller-room-2.ics" in disposition

    raw = response.get_data(as_text=True).replace("\r\n ", "")  # unfold long lines
    assert "LOCATION:Main street 1\\; back door\\, 2nd floor\r\n" in raw
    assert "DESCRIPTION:Bring the card\\, please\\;\\nask about the bill.\\\\ok\r\n" in raw
    assert "DTSTART:20260115T090000Z\r\n" in raw  # 10:00 in Berlin, in UTC

    calendar = parse_response(response)
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    [event] = calendar.events
    assert event.summary == "Dentist: Dr. Müller, room 2"
    assert event.start == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert event.end == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert event.location == appointment.location
    assert event.description == appointment.description
    assert event.uid.startswith(f"appointment-{appointment.id}-")
    assert event.DTSTAMP is not None and event.LAST_MODIFIED is not None


def test_downloading_twice_gives_the_same_uid_so_programs_update_in_place(logged_in, user):
    appointment = make_appointment(user)
    first = parse_response(logged_in.get(f"/appointments/{appointment.id}/ics"))
    second = parse_response(logged_in.get(f"/appointments/{appointment.id}/ics"))
    assert first.events[0].uid == second.events[0].uid


def test_detail_page_links_to_the_download(logged_in, user):
    appointment = make_appointment(user)
    html = logged_in.get(f"/appointments/{appointment.id}/").get_data(as_text=True)
    assert f'href="/appointments/{appointment.id}/ics"' in html and "Download .ics" in html


def test_another_users_appointment_cannot_be_downloaded(logged_in):
    theirs = make_appointment(make_user(), title="Private")
    response = logged_in.get(f"/appointments/{theirs.id}/ics")
    assert response.status_code == 404
    assert "Private" not in response.get_data(as_text=True)
    assert logged_in.get(f"/appointments/{2**70}/ics").status_code == 404


def test_downloads_and_import_need_a_login(browser, user):
    appointment = make_appointment(user)
    for url in (f"/appointments/{appointment.id}/ics", "/calendar/export.ics", "/calendar/import/"):
        response = browser.get(url)
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    for url in ("/calendar/import/", "/calendar/import/confirm/", "/account/calendar-token"):
        response = browser.submit(url, {"payload": "x"}, form_url="/login")
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login?next=")
    assert count_appointments() == 1


# ----------------------------------------------------------------------------------------------
# Export a range
# ----------------------------------------------------------------------------------------------


def test_range_export_holds_only_the_appointments_on_those_local_days(logged_in, user):
    make_appointment(user, title="Too early", start=berlin(2026, 4, 30, 23, 30),
                     end=berlin(2026, 4, 30, 23, 45))
    make_appointment(user, title="First night", start=berlin(2026, 5, 1, 0, 30))
    make_appointment(user, title="Last night", start=berlin(2026, 5, 31, 23, 0))
    make_appointment(user, title="Too late", start=berlin(2026, 6, 1, 0, 30))
    make_appointment(make_user(), title="Someone else's", start=berlin(2026, 5, 10, 9))

    response = logged_in.get("/calendar/export.ics?from=2026-05-01&to=2026-05-31")
    assert "sched-2026-05-01-2026-05-31.ics" in response.headers["Content-Disposition"]
    summaries = [event.summary for event in parse_response(response).events]
    assert summaries == ["First night", "Last night"]


def test_range_export_defaults_to_the_current_month(logged_in, user):
    today = datetime.now(BERLIN).date()
    make_appointment(user, title="This month", start=berlin(today.year, today.month, 1, 12))
    response = logged_in.get("/calendar/export.ics")
    assert f"sched-{today:%Y-%m}-01-" in response.headers["Content-Disposition"]
    assert [event.summary for event in parse_response(response).events] == ["This month"]


def test_appointment_list_links_to_import_and_export(logged_in):
    html = logged_in.get("/appointments/").get_data(as_text=True)
    assert 'href="/calendar/import/"' in html and 'href="/calendar/export.ics"' in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("from=2026-05-01", "Give both dates"),
        ("from=May&to=June", "Give the dates as YYYY-MM-DD"),
        ("from=2026-02-30&to=2026-03-01", "Give the dates as YYYY-MM-DD"),
        ("from=2026-05-10&to=2026-05-01", "The end date must not be before the start date."),
        ("from=2026-01-01&to=2027-01-02", "Export at most 366 days at a time."),
        ("from=1800-01-01&to=1800-01-02", "Enter a year between 1900 and 2200."),
    ],
)
def test_range_export_refuses_unclear_ranges_with_a_reason(logged_in, query, message):
    response = logged_in.get(f"/calendar/export.ics?{query}")
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_a_whole_leap_year_can_be_exported(logged_in, user):
    make_appointment(user, title="New Year's Eve", start=berlin(2028, 12, 31, 20))
    response = logged_in.get("/calendar/export.ics?from=2028-01-01&to=2028-12-31")
    assert [event.summary for event in parse_response(response).events] == ["New Year's Eve"]


# ----------------------------------------------------------------------------------------------
# All-day appointments
# ----------------------------------------------------------------------------------------------


def test_all_day_appointment_is_exported_as_dates_with_an_exclusive_end(logged_in, user):
    # Stored as the form stores it: local midnight of the first and of the last day.
    appointment = make_appointment(
        user, title="Trip", all_day=True, start=berlin(2026, 5, 4), end=berlin(2026, 5, 6)
    )
    raw = logged_in.get(f"/appointments/{appointment.id}/ics").get_data(as_text=True)
    assert "DTSTART;VALUE=DATE:20260504\r\n" in raw
    assert "DTEND;VALUE=DATE:20260507\r\n" in raw


def test_all_day_appointments_survive_export_then_import_unchanged(logged_in, user):
    make_appointment(user, title="One day", all_day=True,
                     start=berlin(2026, 3, 29), end=berlin(2026, 3, 29))  # clocks change that day
    make_appointment(user, title="Three days", all_day=True,
                     start=berlin(2026, 10, 24), end=berlin(2026, 10, 26))
    before = {
        a.title: (a.start, a.end, a.all_day) for a in db.session.scalars(select(Appointment))
    }
    exported = logged_in.get("/calendar/export.ics?from=2026-01-01&to=2026-12-31").data
    for appointment in db.session.scalars(select(Appointment)):
        db.session.delete(appointment)
    db.session.commit()

    response = confirm(logged_in, upload(logged_in, exported).get_data(as_text=True))
    assert "2 appointments added." in response.get_data(as_text=True)
    after = {a.title: (a.start, a.end, a.all_day) for a in db.session.scalars(select(Appointment))}
    assert after == before


# ----------------------------------------------------------------------------------------------
# The subscription feed and its token
# ----------------------------------------------------------------------------------------------

NOON = datetime(2030, 6, 15, 12, tzinfo=UTC)  # the feed tests' "now", unless they say
MIDNIGHT = NOON.replace(hour=0)
WINDOW_START = MIDNIGHT - timedelta(days=FEED_DAYS_BEFORE)
WINDOW_END = MIDNIGHT + timedelta(days=FEED_DAYS_AFTER)


@pytest.fixture
def now(monkeypatch):
    """Fix the clock the feed reads; ``now.set(datetime)`` moves it."""

    class Clock:
        value = NOON

        def set(self, value: datetime) -> None:
            self.value = value

    clock = Clock()
    monkeypatch.setattr("app.scheduling.views.ical.now_utc", lambda: clock.value)
    return clock


@pytest.fixture
def token(user) -> str:
    return make_feed_token(user)


def feed_url(token: str) -> str:
    return f"/calendar/feed/{token}.ics"


def summaries(response) -> list[str]:
    return [str(event.summary) for event in parse_response(response).events]


class CountQueries:
    def __enter__(self):
        self.statements = []
        event.listen(db.engine, "before_cursor_execute", self.record)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self.record)

    def record(self, conn, cursor, statement, *args):
        self.statements.append(statement)


def add_appointments(owner, starts: list[datetime], title: str = "Bulk {n}") -> None:
    """Insert hour-long appointments at ``starts`` in one statement."""
    db.session.execute(insert(Appointment), [
        {"owner_id": owner.id, "title": title.format(n=n), "start": start,
         "end": start + timedelta(hours=1), "all_day": False, "location": "", "description": "",
         "created": NOON, "modified": NOON}
        for n, start in enumerate(starts)
    ])
    db.session.commit()


def test_feed_serves_my_appointments_without_a_login(client, user, token, now):
    make_appointment(user, title="Soon", start=NOON + timedelta(days=1))
    make_appointment(user, title="Last week", start=NOON - timedelta(days=7))
    make_appointment(make_user(), title="Someone else's", start=NOON)
    response = client.get(feed_url(token))
    calendar = parse_response(response)
    assert [event.summary for event in calendar.events] == ["Last week", "Soon"]
    assert calendar["METHOD"] == "PUBLISH"
    assert calendar["X-WR-CALNAME"] == "sched · Olive Owner"
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.headers["Cache-Control"] == "private, max-age=300"
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["ETag"])  # strong: no W/
    assert "Set-Cookie" not in response.headers


def test_feed_holds_about_three_months_back_and_a_year_ahead(client, user, token, now):
    minute = timedelta(minutes=1)
    make_appointment(user, title="Ended before", start=WINDOW_START - timedelta(hours=2),
                     end=WINDOW_START - minute)
    make_appointment(user, title="Runs into it", start=WINDOW_START - timedelta(days=20),
                     end=WINDOW_START + minute)
    make_appointment(user, title="First", start=WINDOW_START)
    make_appointment(user, title="Last", start=WINDOW_END - minute)
    make_appointment(user, title="After", start=WINDOW_END)
    make_appointment(user, title="Long ago", start=datetime(2001, 1, 1, 9, tzinfo=UTC))
    assert summaries(client.get(feed_url(token))) == ["Runs into it", "First", "Last"]
    assert (FEED_DAYS_BEFORE, FEED_DAYS_AFTER) == (92, 366)


def test_feed_window_moves_with_the_day_and_so_does_its_etag(client, user, token, now):
    make_appointment(user, title="Oldest", start=WINDOW_START + timedelta(hours=1))
    first = client.get(feed_url(token))
    assert summaries(first) == ["Oldest"]
    now.set(NOON + timedelta(hours=11))  # the same day: the same feed
    same = client.get(feed_url(token), headers={"If-None-Match": first.headers["ETag"]})
    assert same.status_code == 304
    now.set(NOON + timedelta(days=1))
    later = client.get(feed_url(token), headers={"If-None-Match": first.headers["ETag"]})
    assert later.status_code == 200 and summaries(later) == []
    assert later.headers["ETag"] != first.headers["ETag"]


def test_feed_holds_at_most_its_cap_the_coming_ones_first(client, user, token, now):
    add_appointments(user, [MIDNIGHT - timedelta(days=d) for d in (3, 2, 1)], title="Past {n}")
    add_appointments(
        user, [NOON + timedelta(hours=n) for n in range(FEED_MAX_EVENTS - 1)], title="Coming {n}"
    )
    events = summaries(client.get(feed_url(token)))
    assert len(events) == FEED_MAX_EVENTS == 1000
    assert events[:2] == ["Past 2", "Coming 0"]  # the latest past one fills the last place
    assert events[-1] == f"Coming {FEED_MAX_EVENTS - 2}"


def test_past_the_cap_the_soonest_are_kept(client, user, token, now, monkeypatch):
    monkeypatch.setattr("app.scheduling.feed.FEED_MAX_EVENTS", 3)
    make_appointment(user, title="Yesterday", start=NOON - timedelta(days=1))
    make_appointment(user, title="Running", start=NOON - timedelta(hours=1),
                     end=NOON + timedelta(hours=1))
    for day in (3, 1, 2, 4):
        make_appointment(user, title=f"In {day} days", start=NOON + timedelta(days=day))
    assert summaries(client.get(feed_url(token))) == ["Running", "In 1 days", "In 2 days"]


def test_an_unchanged_feed_answers_304_with_no_body_for_one_query(client, user, token, now):
    make_appointment(user, title="Dentist", start=NOON + timedelta(days=2))
    first = client.get(feed_url(token))
    etag = first.headers["ETag"]
    assert client.get(feed_url(token)).data == first.data  # one version, the same bytes

    for sent in (etag, f"W/{etag}", f'"other", {etag}', "*"):
        with CountQueries() as queries:
            response = client.get(feed_url(token), headers={"If-None-Match": sent})
        assert response.status_code == 304, sent
        assert response.data == b""
        assert response.headers["ETag"] == etag
        assert response.headers["Cache-Control"] == "private, max-age=300"
        assert "Content-Type" not in response.headers
        assert len(queries.statements) == 1, queries.statements
    assert client.get(feed_url(token), headers={"If-None-Match": '"other"'}).status_code == 200
    head = client.head(feed_url(token), headers={"If-None-Match": etag})
    assert head.status_code == 304


def test_the_etag_changes_with_every_change_to_the_feed(client, user, token, now):
    dentist = make_appointment(user, title="Dentist", start=NOON + timedelta(days=2))
    make_appointment(user, title="Yoga", start=NOON + timedelta(days=3))
    etags = [client.get(feed_url(token)).headers["ETag"]]

    def changed() -> str:
        response = client.get(feed_url(token), headers={"If-None-Match": etags[-1]})
        assert response.status_code == 200, "the feed changed, its old ETag must not match"
        assert response.headers["ETag"] not in etags
        etags.append(response.headers["ETag"])
        return response

    dentist.title = "Dentist, moved"
    db.session.commit()
    assert "Dentist, moved" in summaries(changed())
    db.session.delete(dentist)
    db.session.commit()
    assert summaries(changed()) == ["Yoga"]
    make_appointment(user, title="Far away", start=NOON + timedelta(days=900))  # not shown
    changed()
    user.full_name = "Olive Other"
    db.session.commit()
    assert parse_response(changed())["X-WR-CALNAME"] == "sched · Olive Other"
    user.timezone = "Asia/Tokyo"
    db.session.commit()
    changed()


def test_a_second_parser_reads_the_feed(client, user, token, now):
    make_appointment(user, title="Dentist; room 2, upstairs", location="Main street 1",
                     description="Bring the card.\nAnd the bill.",
                     start=NOON + timedelta(days=1), end=NOON + timedelta(days=1, hours=1))
    make_appointment(user, title="Holiday", all_day=True, start=berlin(2030, 6, 20),
                     end=berlin(2030, 6, 21))
    response = client.get(feed_url(token))
    assert response.status_code == 200
    calendar = vobject.readOne(response.get_data(as_text=True), validate=True)
    assert calendar.method.value == "PUBLISH"
    timed, all_day = calendar.vevent_list
    assert timed.summary.value == "Dentist; room 2, upstairs"
    assert timed.location.value == "Main street 1"
    assert timed.description.value == "Bring the card.\nAnd the bill."
    assert timed.dtstart.value == NOON + timedelta(days=1)
    assert timed.dtend.value == NOON + timedelta(days=1, hours=1)
    assert timed.dtstamp.value == MIDNIGHT  # nothing changed since: the feed's day
    # The host of SITE_URL, whatever the request's Host header (issue 19).
    assert timed.uid.value.startswith("appointment-") and timed.uid.value.endswith("@127.0.0.1")
    assert (all_day.summary.value, all_day.dtstart.value, all_day.dtend.value) == (
        "Holiday", date(2030, 6, 20), date(2030, 6, 22),
    )


@pytest.mark.parametrize("app_overrides", [{"RATELIMIT_CALENDAR_FEED": "3 per hour"}])
def test_each_token_has_its_own_rate_limit(app, client, user, token, now):
    make_appointment(user, title="Private", start=NOON)
    other_token = make_feed_token(make_user())
    storage = app.extensions["sched_limiter"].storage
    for _ in range(5):
        assert client.get(feed_url("made-up-" + secrets.token_urlsafe(8))).status_code == 404
    assert storage.storage == {}, "an unknown token is counted nowhere"

    etag = client.get(feed_url(token)).headers["ETag"]
    assert client.get(feed_url(token), headers={"If-None-Match": etag}).status_code == 304
    assert client.get(feed_url(token)).status_code == 200
    refused = client.get(feed_url(token))
    assert refused.status_code == 429
    assert 3500 < int(refused.headers["Retry-After"]) <= 3601  # when the hour is over
    assert "This calendar is fetched too often." in refused.get_data(as_text=True)
    assert "Private" not in refused.get_data(as_text=True)
    assert client.get(feed_url(token), headers={"If-None-Match": etag}).status_code == 429

    assert client.get(feed_url(other_token)).status_code == 200
    # The count is the token's: a new address starts afresh. The store keeps only hashes.
    new_token = make_feed_token(user)
    assert client.get(feed_url(new_token)).status_code == 200
    keys = " ".join(storage.storage)
    assert calendar_token_digest(token) in keys
    assert token not in keys and other_token not in keys and new_token not in keys


def test_unknown_feed_token_answers_404(client, user, token):
    make_appointment(user, title="Secret")
    response = client.get(feed_url("not-the-token"))
    assert response.status_code == 404
    assert "Secret" not in response.get_data(as_text=True)


def test_a_deactivated_users_feed_answers_404(client, user, token):
    user.active = False
    db.session.commit()
    assert client.get(feed_url(token)).status_code == 404


def test_a_new_account_has_no_feed_until_it_asks(logged_in, user, client):
    assert user.calendar_token_hash is None
    html = logged_in.get("/account/").get_data(as_text=True)
    assert "Calendar subscription" in html and "You have no subscription address yet." in html
    assert "/calendar/feed/" not in html

    response = logged_in.submit("/account/calendar-token", {}, form_url="/account/")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    match = re.search(r'readonly[^>]*value="http://localhost/calendar/feed/([^"/]+)\.ics"', page)
    assert match and "it is shown only this once" in page
    assert "The old one no longer works." not in page
    assert client.get(feed_url(match.group(1))).status_code == 200


def test_the_database_keeps_no_usable_feed_token(logged_in, user, client):
    page = logged_in.submit("/account/calendar-token", {}, form_url="/account/")
    token = re.search(r"/calendar/feed/([^\"/]+)\.ics", page.get_data(as_text=True)).group(1)
    assert page.headers["Cache-Control"] == "no-store"
    with db.engine.connect() as connection:
        row = connection.execute(
            text('SELECT * FROM "user" WHERE id = :id'), {"id": user.id}
        ).mappings().one()
    assert not any(token in str(value) for value in row.values())
    assert row["calendar_token_hash"] == calendar_token_digest(token)
    assert client.get(feed_url(row["calendar_token_hash"])).status_code == 404
    assert client.get(feed_url(token)).status_code == 200


def test_a_new_feed_address_is_shown_once_and_revokes_the_old_one(logged_in, user, token, client):
    assert client.get(feed_url(token)).status_code == 200
    html = logged_in.get("/account/").get_data(as_text=True)
    assert "You have a subscription address." in html and token not in html

    response = logged_in.submit("/account/calendar-token", {}, form_url="/account/")
    page = response.get_data(as_text=True)
    assert "Your calendar has a new subscription address. The old one no longer works." in page
    new_token = re.search(r"/calendar/feed/([^\"/]+)\.ics", page).group(1)
    assert new_token != token
    assert client.get(feed_url(token)).status_code == 404
    assert client.get(feed_url(new_token)).status_code == 200
    # Shown this once: the profile no longer has it.
    html = logged_in.get("/account/").get_data(as_text=True)
    assert new_token not in html and "You have a subscription address." in html


def test_a_new_feed_address_needs_the_csrf_token(logged_in, user, token):
    stored = user.calendar_token_hash
    response = logged_in.client.post("/account/calendar-token")
    assert response.status_code == 400
    db.session.refresh(user)
    assert user.calendar_token_hash == stored


# ----------------------------------------------------------------------------------------------
# Import
# ----------------------------------------------------------------------------------------------

IMPORT_FILE = ics(
    "SUMMARY:Flight\\, seat 12A\nDTSTART:20260115T100000Z\nDTEND:20260115T120000Z\n"
    "LOCATION:Airport\\; Terminal 1\nDESCRIPTION:Gate closes early.\\nBring the passport.",
    "SUMMARY:Call New York\nDTSTART;TZID=America/New_York:20260116T100000\n"
    "DTEND;TZID=America/New_York:20260116T103000",
    "SUMMARY:Dinner\nDTSTART:20260117T100000Z\nSTATUS:CANCELLED",
    "SUMMARY:Weekly yoga\nDTSTART:20260118T170000Z\nDURATION:PT1H\nRRULE:FREQ=WEEKLY",
)


def test_import_shows_a_preview_then_adds_the_events(logged_in, user):
    response = upload(logged_in, IMPORT_FILE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "3 appointments will be added" in html
    assert "Flight, seat 12A" in html and "Call New York" in html and "Weekly yoga" in html
    assert "Every week on Sunday" in html  # kept as a series
    assert "1 event will be skipped" in html and "It was cancelled." in html
    assert "Add 3 appointments" in html
    assert count_appointments() == 0  # a preview saves nothing

    response = confirm(logged_in, html)
    assert "3 appointments added." in response.get_data(as_text=True)
    assert response.request.path == "/appointments/"
    stored = {a.title: a for a in db.session.scalars(select(Appointment))}
    assert set(stored) == {"Flight, seat 12A", "Call New York", "Weekly yoga"}
    flight = stored["Flight, seat 12A"]
    assert (flight.start, flight.end) == (
        datetime(2026, 1, 15, 10, tzinfo=UTC), datetime(2026, 1, 15, 12, tzinfo=UTC)
    )
    assert flight.location == "Airport; Terminal 1"
    assert flight.description == "Gate closes early.\nBring the passport."
    assert flight.owner_id == user.id and not flight.all_day
    # 10:00 in New York in January is 15:00 UTC.
    assert stored["Call New York"].start == datetime(2026, 1, 16, 15, tzinfo=UTC)
    assert stored["Call New York"].end == datetime(2026, 1, 16, 15, 30, tzinfo=UTC)
    assert stored["Weekly yoga"].end - stored["Weekly yoga"].start == timedelta(hours=1)
    assert (stored["Weekly yoga"].rrule, stored["Weekly yoga"].series_timezone) == (
        "FREQ=WEEKLY", "UTC")


def test_import_takes_floating_times_on_my_clock(logged_in):
    html = upload(
        logged_in, ics("SUMMARY:Lunch\nDTSTART:20260701T120000\nDTEND:20260701T130000")
    ).get_data(as_text=True)
    confirm(logged_in, html)
    lunch = db.session.scalars(select(Appointment)).one()
    assert lunch.start == datetime(2026, 7, 1, 10, tzinfo=UTC)  # noon in Berlin in summer
    assert lunch.end == datetime(2026, 7, 1, 11, tzinfo=UTC)


def test_a_preview_confirmed_twice_adds_its_events_once(logged_in, user):
    preview = upload(logged_in, IMPORT_FILE).get_data(as_text=True)
    first = confirm(logged_in, preview)
    assert "3 appointments added." in first.get_data(as_text=True)
    again = confirm(logged_in, preview)  # the button pressed twice, or the request retried
    assert again.request.path == "/appointments/"
    assert "These appointments were already added; they were not added twice." in (
        again.get_data(as_text=True))
    assert count_appointments() == 3
    # The same file previewed anew is a new import, added again on purpose.
    assert "3 appointments added." in confirm(
        logged_in, upload(logged_in, IMPORT_FILE).get_data(as_text=True)).get_data(as_text=True)
    assert count_appointments() == 6


def test_a_preview_confirmed_again_meanwhile_is_found_not_doubled(logged_in, user):
    """Both confirmations pass the look-up; the database's unique key stops the second."""
    from app.scheduling.forms import _serializer, import_idempotency_key
    from tests.support.concurrent import meanwhile

    preview = upload(logged_in, IMPORT_FILE).get_data(as_text=True)
    key = _serializer().loads(payload_from(preview))["key"]  # what the preview carries
    owner_id = user.id

    def first_confirmation(session):
        session.add(Appointment(
            owner_id=owner_id, idempotency_key=import_idempotency_key(key, 0),
            title="Flight, seat 12A", start=datetime(2026, 1, 15, 10, tzinfo=UTC),
            end=datetime(2026, 1, 15, 12, tzinfo=UTC),
        ))

    with meanwhile(first_confirmation) as done:
        response = confirm(logged_in, preview)
    assert done
    assert "were already added" in response.get_data(as_text=True)
    assert count_appointments() == 1


def test_import_refuses_a_changed_preview_and_adds_nothing(logged_in):
    html = upload(logged_in, IMPORT_FILE).get_data(as_text=True)
    payload = payload_from(html)
    tampered = payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB")
    response = confirm(logged_in, html, payload=tampered)
    assert "This preview could not be checked, so nothing was added." in response.get_data(
        as_text=True
    )
    assert response.status_code == 400
    assert 'action="/calendar/import/"' in response.get_data(as_text=True)  # upload again
    assert count_appointments() == 0


def test_import_refuses_a_preview_older_than_an_hour(logged_in, user, monkeypatch):
    html = upload(logged_in, IMPORT_FILE).get_data(as_text=True)
    events = [event for event in parse_ics(IMPORT_FILE, BERLIN) if event.problem is None]
    an_hour_ago = int(time.time()) - 60 * 60 - 1
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: an_hour_ago)
    old_payload = sign_import(events, user.id)
    monkeypatch.undo()
    response = confirm(logged_in, html, payload=old_payload)
    assert "This preview is more than an hour old." in response.get_data(as_text=True)
    assert count_appointments() == 0


def test_import_refuses_another_users_preview(logged_in, browser):
    html = upload(logged_in, IMPORT_FILE).get_data(as_text=True)
    payload = payload_from(html)
    other = make_user("other@example.com")
    logged_in.logout()
    browser.login(other.email)
    page = browser.get("/calendar/import/").get_data(as_text=True)
    response = confirm(browser, page, payload=payload)
    assert "could not be checked" in response.get_data(as_text=True)
    assert count_appointments() == 0


def test_confirming_needs_the_csrf_token(logged_in):
    html = upload(logged_in, IMPORT_FILE).get_data(as_text=True)
    response = logged_in.client.post(
        "/calendar/import/confirm/", data={"payload": payload_from(html)}
    )
    assert response.status_code == 400
    assert "The form has expired" in response.get_data(as_text=True)
    assert count_appointments() == 0


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"hello, this is not a calendar", "calendar.ics", "not an iCalendar file"),
        (IMPORT_FILE[:-30], "calendar.ics", "not an iCalendar file"),  # cut short
        ("SUMMARY:Grüße".encode("latin-1"), "calendar.ics", "not UTF-8 text"),
        (ics(extra="BEGIN:VTIMEZONE\nTZID:Europe/Berlin\nEND:VTIMEZONE\n"), "calendar.ics",
         "This file has no events."),
        (IMPORT_FILE, "calendar.txt", "Choose a file whose name ends in .ics."),
        (b"", "calendar.ics", "not an iCalendar file"),
        (b"", "", "Choose an .ics file."),
    ],
)
def test_a_file_that_cannot_be_imported_is_refused_next_to_the_field(
    logged_in, data, filename, message
):
    response = upload(logged_in, data, filename)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in field_errors(html, "file")
    assert 'name="payload"' not in html
    assert count_appointments() == 0


def test_a_file_over_512_kib_is_refused(logged_in):
    padding = "X-PADDING:" + "x" * 70 + "\n"
    data = ics("SUMMARY:Big\nDTSTART:20260115T100000Z\n" + padding * (512 * 1024 // 80))
    assert 512 * 1024 < len(data) < 1024 * 1024
    html = upload(logged_in, data).get_data(as_text=True)
    assert "The file is larger than 512 KiB." in field_errors(html, "file")
    assert count_appointments() == 0


def test_the_largest_file_accepted_can_be_added(logged_in, app):
    """The preview carries the events back in one request; even random text must fit."""
    rng = random.Random(5545)
    letters = [chr(code) for code in range(0x20, 0x7F) if chr(code) not in ",;\\"]

    def text(length: int) -> str:
        return "".join(rng.choice(letters) for _ in range(length)).strip() or "x"

    events, size = [], 200
    while True:
        event = f"SUMMARY:{text(255)}\nLOCATION:{text(255)}\nDTSTART:20260115T100000Z\n"
        event += f"DESCRIPTION:{text(10_000)}"
        if size + len(event) + 40 > IMPORT_MAX_BYTES:
            break
        events.append(event)
        size += len(event) + 40
    data = ics(*events)
    assert IMPORT_MAX_BYTES - 12_000 < len(data) <= IMPORT_MAX_BYTES

    html = upload(logged_in, data).get_data(as_text=True)
    assert f"Add {len(events)} appointments" in html
    assert len(payload_from(html)) < app.config["MAX_CONTENT_LENGTH"] - 4096
    response = confirm(logged_in, html)
    assert f"{len(events)} appointments added." in response.get_data(as_text=True)
    assert count_appointments() == len(events)


def test_a_file_with_nothing_to_add_offers_no_button(logged_in):
    refused = "SUMMARY:x\nDTSTART:20260115T100000Z\nDTEND:20260115T090000Z"
    html = upload(logged_in, ics(refused)).get_data(as_text=True)
    assert "None of the events in this file can be added." in html
    assert "It ends before it starts." in html
    assert 'name="payload"' not in html


# ----------------------------------------------------------------------------------------------
# The functions behind it
# ----------------------------------------------------------------------------------------------


def parse_one(event: str, tz=BERLIN, extra: str = ""):
    [parsed] = parse_ics(ics(event, extra=extra), tz)
    return parsed


@pytest.mark.parametrize(
    ("event", "start", "end", "all_day"),
    [
        # No DTEND: a timed event ends when it starts, a dated one lasts its day.
        ("DTSTART:20260115T100000Z", datetime(2026, 1, 15, 10, tzinfo=UTC),
         datetime(2026, 1, 15, 10, tzinfo=UTC), False),
        ("DTSTART;VALUE=DATE:20260115", berlin(2026, 1, 15), berlin(2026, 1, 15), True),
        ("DTSTART;VALUE=DATE:20260115\nDTEND;VALUE=DATE:20260118", berlin(2026, 1, 15),
         berlin(2026, 1, 17), True),
        ("DTSTART;VALUE=DATE:20260115\nDURATION:P2D", berlin(2026, 1, 15), berlin(2026, 1, 16),
         True),
        # Some programs repeat the first day as the end of a one-day event.
        ("DTSTART;VALUE=DATE:20260115\nDTEND;VALUE=DATE:20260115", berlin(2026, 1, 15),
         berlin(2026, 1, 15), True),
        ("DTSTART:20260115T100000Z\nDURATION:PT90M", datetime(2026, 1, 15, 10, tzinfo=UTC),
         datetime(2026, 1, 15, 11, 30, tzinfo=UTC), False),
        # Outlook's Windows zone names are understood.
        ("DTSTART;TZID=W. Europe Standard Time:20260715T100000", berlin(2026, 7, 15, 10),
         berlin(2026, 7, 15, 10), False),
    ],
)
def test_parse_reads_the_times_an_appointment_needs(app, event, start, end, all_day):
    parsed = parse_one(f"SUMMARY:Something\n{event}")
    assert parsed.problem is None
    assert (parsed.start, parsed.end, parsed.all_day) == (start, end, all_day)
    assert parsed.start.tzinfo is not None


def custom_zone(name: str, offset: str) -> str:
    return (
        f"BEGIN:VTIMEZONE\nTZID:{name}\nBEGIN:STANDARD\nDTSTART:16010101T000000\n"
        f"TZOFFSETFROM:{offset}\nTZOFFSETTO:{offset}\nEND:STANDARD\nEND:VTIMEZONE\n"
    )


def test_parse_uses_the_files_own_time_zone_definitions(app):
    parsed = parse_one(
        "SUMMARY:Stand-up\nDTSTART;TZID=India Office:20260115T100000\n"
        "DTEND;TZID=India Office:20260115T101500",
        extra=custom_zone("India Office", "+0530"),
    )
    assert parsed.start == datetime(2026, 1, 15, 4, 30, tzinfo=UTC)
    assert parsed.end == datetime(2026, 1, 15, 4, 45, tzinfo=UTC)


def test_one_files_time_zone_does_not_change_the_next_files_times(app):
    event = "SUMMARY:Meeting\nDTSTART;TZID=Head Office:20260115T100000"
    first = parse_one(event, extra=custom_zone("Head Office", "+0900"))
    second = parse_one(event, extra=custom_zone("Head Office", "-0300"))
    third = parse_one(event)
    assert first.start == datetime(2026, 1, 15, 1, tzinfo=UTC)
    assert second.start == datetime(2026, 1, 15, 13, tzinfo=UTC)
    assert str(third.problem) == "Its time zone “Head Office” is unknown or cannot be used."


OUTLOOK_ZONE = """BEGIN:VTIMEZONE
TZID:Customized Time Zone
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""


@pytest.mark.parametrize(("day", "utc_hour"), [("20260115", 9), ("20260715", 8)])
def test_parse_follows_the_summer_time_rules_a_file_defines(app, day, utc_hour):
    parsed = parse_one(
        f"SUMMARY:Review\nDTSTART;TZID=Customized Time Zone:{day}T100000", extra=OUTLOOK_ZONE
    )
    assert parsed.start.hour == utc_hour


def test_parse_refuses_a_time_zone_that_changes_its_clocks_every_hour(app):
    # dateutil would evaluate this rule for every hour since 1601: minutes per event.
    zone = OUTLOOK_ZONE.replace("FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10", "FREQ=HOURLY")
    parsed = parse_one(
        "SUMMARY:Review\nDTSTART;TZID=Customized Time Zone:20260115T100000", extra=zone
    )
    assert "“Customized Time Zone” is unknown or cannot be used" in str(parsed.problem)


def test_parse_reads_all_day_dates_in_the_importing_users_zone(app):
    parsed = parse_one("SUMMARY:Holiday\nDTSTART;VALUE=DATE:20260504", tz=ZoneInfo("Asia/Tokyo"))
    assert parsed.start == datetime(2026, 5, 3, 15, tzinfo=UTC)  # midnight in Tokyo


@pytest.mark.parametrize(
    ("event", "problem"),
    [
        # A missing or long title is no reason to refuse (see test_import_fidelity.py).
        ("DTSTART:20260115T100000Z", None),
        ("SUMMARY:" + "x" * 256 + "\nDTSTART:20260115T100000Z", None),
        ("SUMMARY:x\nLOCATION:" + "y" * 256 + "\nDTSTART:20260115T100000Z",
         "Its location is longer than 255 characters."),
        ("SUMMARY:x\nDESCRIPTION:" + "z" * 10_001 + "\nDTSTART:20260115T100000Z",
         "Its description is longer than 10000 characters."),
        ("SUMMARY:bell\x07\nDTSTART:20260115T100000Z",
         "It contains invisible control characters."),
        ("SUMMARY:x", "Its start or end could not be read."),
        ("SUMMARY:x\nDTSTART:tomorrow", "Its start or end could not be read."),
        ("SUMMARY:x\nDTSTART;VALUE=DATE:20260115\nDTEND:20260116T100000Z",
         "Its start or end could not be read."),
        ("SUMMARY:x\nDTSTART:20260115T100000Z\nDTEND:20260115T090000Z",
         "It ends before it starts."),
        ("SUMMARY:x\nDTSTART;VALUE=DATE:20260115\nDTEND;VALUE=DATE:20260110",
         "It ends before it starts."),
        ("SUMMARY:x\nDTSTART:18000115T100000Z", "between the years 1900 and 2200"),
        ("SUMMARY:x\nDTSTART;VALUE=DATE:22001231", None),
        ("SUMMARY:x\nDTSTART;TZID=Nowhere/Land:20260115T100000",
         "Its time zone “Nowhere/Land” is unknown or cannot be used."),
        # 02:30 does not happen in Berlin on 29 March 2026.
        ("SUMMARY:x\nDTSTART:20260329T023000", "does not exist in your time zone"),
        ("SUMMARY:x\nDTSTART:20260115T100000Z\nSTATUS:CANCELLED", "It was cancelled."),
        # One occurrence of a series the file does not hold: added on its own.
        ("SUMMARY:x\nDTSTART:20260115T100000Z\nRECURRENCE-ID:20260115T100000Z", None),
    ],
)
def test_parse_flags_events_our_rules_refuse(app, event, problem):
    parsed = parse_one(event)
    if problem is None:
        assert parsed.problem is None
    else:
        assert problem in str(parsed.problem)


def test_parse_keeps_the_first_occurrence_of_a_repeating_event(app):
    parsed = parse_one("SUMMARY:Yoga\nDTSTART:20260105T170000Z\nRRULE:FREQ=WEEKLY;COUNT=10")
    assert parsed.problem is None and parsed.repeats
    assert parsed.start == datetime(2026, 1, 5, 17, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", NOT_ICALENDAR),
        (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\n", NOT_ICALENDAR),
        (b"BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n", NOT_ICALENDAR),
        (b"\xff\xfe\x00\x01", NOT_UTF8),
        (ics(), NO_EVENTS),
    ],
)
def test_parse_refuses_files_it_cannot_read(app, data, message):
    with pytest.raises(ICalendarError) as error:
        parse_ics(data, BERLIN)
    assert error.value.message == message


def test_parse_accepts_a_byte_order_mark_and_bare_line_feeds(app):
    data = ics("SUMMARY:Café ☕\nDTSTART:20260115T100000Z").replace(b"\r\n", b"\n")
    data = b"\xef\xbb\xbf" + data
    [parsed] = parse_ics(data, BERLIN)
    assert parsed.title == "Café ☕"


def test_build_calendar_leaves_out_the_end_of_an_event_without_length(app, user):
    appointment = make_appointment(
        user, start=datetime(2026, 1, 15, 9, tzinfo=UTC), end=datetime(2026, 1, 15, 9, tzinfo=UTC)
    )
    [event] = build_calendar([appointment], BERLIN, "example.org", name="sched").events
    assert "DTEND" not in event and event.start == datetime(2026, 1, 15, 9, tzinfo=UTC)


def test_build_calendar_stamps_feeds_now_and_files_with_the_last_change(app, user):
    appointment = make_appointment(user)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    feed = build_calendar(
        [appointment], BERLIN, "example.org", name="sched", publish=True, now=lambda: now
    )
    file = build_calendar([appointment], BERLIN, "example.org", name="sched")
    [feed_event] = Calendar.from_ical(feed.to_ical()).events
    [file_event] = Calendar.from_ical(file.to_ical()).events
    assert feed_event.DTSTAMP == now
    assert file_event.DTSTAMP == appointment.modified.replace(microsecond=0)
    assert feed_event.uid == file_event.uid and feed_event.uid.endswith("@example.org")


def test_build_calendar_dates_all_day_appointments_in_the_owners_zone(app, user):
    tokyo = ZoneInfo("Asia/Tokyo")
    appointment = make_appointment(
        user, all_day=True, start=datetime(2026, 5, 4, tzinfo=tokyo),
        end=datetime(2026, 5, 4, tzinfo=tokyo),
    )
    [event] = build_calendar([appointment], tokyo, "example.org", name="sched").events
    assert (event.start, event.end) == (date(2026, 5, 4), date(2026, 5, 5))


@pytest.mark.parametrize(
    ("title", "slug"),
    [("Zahnärzt – Termin!", "zahnarzt-termin"), ("日本", "appointment"), ("a" * 80, "a" * 60)],
)
def test_download_names_are_plain_ascii(title, slug):
    assert slugify(title) == slug
