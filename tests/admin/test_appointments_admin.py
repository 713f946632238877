"""The admin panel's appointment pages, used through HTTP as a staff member's browser would."""

from __future__ import annotations

import csv
import html as html_lib
import io
import json
import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select

from app.admin import appointments as appointments_admin
from app.audit.models import AuditEntry
from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.browser import page
from tests.support.factories import appointment_form, make_appointment, make_user
from tests.support.queries import count_appointments
from tests.support.zones import UTC

LIST = "/admin/appointments/"
STAFF_ZONE = "America/New_York"  # the owner fixture lives in Berlin: the two clocks differ


@pytest.fixture
def staff(browser):
    make_user("staff@example.com", roles=("staff",), timezone=STAFF_ZONE)
    browser.login("staff@example.com")
    return browser


def column(html: str, name: str) -> list[str]:
    """The list's cells of one column, top to bottom, as text."""
    cells = re.findall(rf'<td class="col-{name}">\s*(.*?)\s*</td>', html, re.S)
    return [html_lib.unescape(cell) for cell in cells]


def filter_url(html: str, group: str, value: str) -> str:
    """The query argument the list's filter form sends for ``group``, as its script builds it."""
    data = re.search(r'<div id="filter-groups-data" class="d-none">(.*?)</div>', html, re.S)
    (only,) = json.loads(html_lib.unescape(data.group(1)))[group]
    return f"flt0_{only['arg']}={value}"


def drilldown(html: str) -> dict:
    """The date links above the list: the way back up, where the list is, the way down."""
    nav = re.search(r'<nav class="date-drilldown.*?</nav>', html, re.S).group(0)
    links = re.findall(r'<li class="(breadcrumb|nav)-item"><a[^>]* href="([^"]+)">([^<]+)</a>', nav)
    return {
        "up": {label: html_lib.unescape(url) for kind, url, label in links if kind == "breadcrumb"},
        "down": {label: html_lib.unescape(url) for kind, url, label in links if kind == "nav"},
        "here": re.search(r'aria-current="page">([^<]+)<', nav).group(1),
    }


def field_errors(html: str, field: str) -> str:
    """The form group of one field: its label, its input and the errors shown right under it."""
    start = html.rindex('<div class="form-group', 0, html.index(f'id="{field}"'))
    end = html.find('<div class="form-group', start + 1)
    return html[start:end]


def audited(action: str) -> list[tuple[str, str]]:
    """The audit log's (actor, object) entries for appointments with this action."""
    entries = db.session.scalars(
        select(AuditEntry).filter_by(action=action, object_type="Appointment")
    )
    return [(entry.actor_email, entry.object_repr) for entry in entries]


def valid_form(owner, /, **changes) -> dict:
    return appointment_form(**{"owner": str(owner.id), **changes})


@pytest.fixture
def record_queries(app):
    """Collect the SQL the app sends while the test runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield statements
    event.remove(db.engine, "before_cursor_execute", record)


# --- The list ------------------------------------------------------------------------------


def test_list_shows_every_owners_appointments_on_the_staff_clock(staff, user):
    make_appointment(
        user, title="Dentist", location="Main street 1",
        start=datetime(2026, 1, 15, 10, tzinfo=UTC), end=datetime(2026, 1, 15, 11, 30, tzinfo=UTC),
    )
    make_appointment(make_user("bob@example.com"), title="Bob's review")
    html = page(staff, LIST)
    assert set(column(html, "title")) == {"Dentist", "Bob's review"}
    assert set(column(html, "owner")) == {"owner@example.com", "bob@example.com"}
    # 10:00 UTC is 05:00 in New York, where the staff member is; 11:00 in Berlin, the owner's.
    dentist = column(html, "title").index("Dentist")
    owners_clock = r'<br><small class="owner-time text-body-secondary">Owner: 1/15/26, {}, Berlin time</small>'
    assert re.fullmatch(r"1/15/26, 5:00\sAM" + owners_clock.format(r"11:00\sAM"), column(html, "start")[dentist])
    assert re.fullmatch(r"1/15/26, 6:30\sAM" + owners_clock.format(r"12:30\sPM"), column(html, "end")[dentist])
    # The headers of the times name the staff member's zone.
    assert html.count('<span class="d-block small fw-normal text-body-secondary zone-note">New York time</span>') == 2
    assert column(html, "all_day")[dentist] == "No"
    assert column(html, "location")[dentist] == "Main street 1"
    assert "All appointments" in html


def test_all_day_appointments_show_the_owners_days(staff, user):
    # Olive's all-day 4 May begins at midnight in Berlin: 18:00 on 3 May in New York.
    berlin_midnight = datetime(2026, 5, 3, 22, tzinfo=UTC)
    make_appointment(
        user, title="Holiday", all_day=True, start=berlin_midnight, end=berlin_midnight
    )
    html = page(staff, LIST)
    assert column(html, "start") == ["May 4, 2026"] and column(html, "all_day") == ["Yes"]


def test_list_runs_no_count_and_no_query_per_row(staff, user, record_queries):
    make_appointment(user)
    record_queries.clear()
    page(staff, LIST)
    few = len(record_queries)
    for number in range(12):
        make_appointment(make_user(f"owner{number}@example.com"))
    record_queries.clear()
    html = page(staff, LIST)
    assert len(column(html, "owner")) == 13
    assert len(record_queries) == few
    assert not [sql for sql in record_queries if "count(" in sql.lower()]


def test_search_finds_title_location_description_and_owner_email(staff, user):
    make_appointment(user, title="Dentist", location="Main street", description="Bring the card")
    make_appointment(make_user("bob@example.com"), title="Review", location="Office")
    for term, titles in [
        ("dentist", ["Dentist"]),
        ("office", ["Review"]),
        ("card", ["Dentist"]),
        ("bob@example.com", ["Review"]),
        ("owner@example", ["Dentist"]),
        ("nothing-like-it", []),
    ]:
        assert column(page(staff, f"{LIST}?search={term}"), "title") == titles, term
    assert 'placeholder="Title, Location, Description, Owner e-mail, Repeat rule"' in page(
        staff, LIST
    )


def test_search_words_must_all_match_and_many_matching_owners_still_count(
    staff, user, monkeypatch
):
    make_appointment(user, title="Dentist", location="Main street")
    make_appointment(make_user("bob@example.com"), title="Dentist", location="Office")
    make_appointment(make_user("bea@example.com"), title="Review", location="Office")
    assert column(page(staff, f"{LIST}?search=dentist+office"), "title") == ["Dentist"]
    assert column(page(staff, f"{LIST}?search=bob+dentist"), "title") == ["Dentist"]
    # Past this many matching owners, they are looked up in a subquery, with the same result.
    monkeypatch.setattr(appointments_admin, "MAX_SEARCHED_OWNERS", 1)
    assert sorted(column(page(staff, f"{LIST}?search=example.com"), "title")) == [
        "Dentist", "Dentist", "Review",
    ]
    assert column(page(staff, f"{LIST}?search=b+office"), "title") == ["Review", "Dentist"]


def test_owner_filter_is_an_email_typed_in_not_a_list_of_users(staff, user):
    make_appointment(user, title="Olive's")
    make_appointment(make_user("bob@example.com"), title="Bob's")
    html = page(staff, LIST)
    groups = re.search(r'id="filter-groups-data" class="d-none">(.*?)</div>', html, re.S)
    (owner_filter,) = json.loads(html_lib.unescape(groups.group(1)))["Owner e-mail"]
    assert owner_filter["options"] is None  # a text box, whatever the number of users
    url = f"{LIST}?{filter_url(html, 'Owner e-mail', '+owner@example.com+')}"
    assert column(page(staff, url), "title") == ["Olive's"]


def test_all_day_filter(staff, user):
    make_appointment(user, title="Meeting")
    make_appointment(user, title="Holiday", all_day=True)
    html = page(staff, LIST)
    assert column(page(staff, f"{LIST}?{filter_url(html, 'All day', '1')}"), "title") == ["Holiday"]
    assert column(page(staff, f"{LIST}?{filter_url(html, 'All day', '0')}"), "title") == ["Meeting"]


def test_date_range_filter_counts_days_on_the_staff_clock(staff, user):
    for title, start in [
        ("Late on the 14th", datetime(2026, 1, 15, 4, 30, tzinfo=UTC)),
        ("Late on the 15th", datetime(2026, 1, 16, 3, 0, tzinfo=UTC)),
        ("Early on the 16th", datetime(2026, 1, 16, 5, 30, tzinfo=UTC)),
    ]:
        make_appointment(user, title=title, start=start)
    html = page(staff, LIST)
    one_day = filter_url(html, "Start date", "2026-01-15+to+2026-01-15")
    assert column(page(staff, f"{LIST}?{one_day}"), "title") == ["Late on the 15th"]
    two_days = filter_url(html, "Start date", "2026-01-15+to+2026-01-16")
    assert column(page(staff, f"{LIST}?{two_days}"), "title") == [
        "Early on the 16th", "Late on the 15th",
    ]
    backwards = filter_url(html, "Start date", "2026-01-16+to+2026-01-15")
    refused = staff.get(f"{LIST}?{backwards}")
    assert refused.status_code == 400
    assert "Invalid Filter Value" in refused.get_data(as_text=True)


def sort_link(html: str, label: str) -> str:
    """Where the column's heading leads: sorted by it, or the other way if it already is."""
    return html_lib.unescape(re.search(rf'href="([^"]+)" title="Sort by {label}"', html).group(1))


def test_every_column_sorts_both_ways(staff):
    berlin = {"timezone": "Europe/Berlin"}
    a = make_appointment(
        make_user("b@example.com", **berlin), title="Alpha", location="Cellar",
        start=datetime(2026, 1, 2, 9, tzinfo=UTC), end=datetime(2026, 1, 2, 10, tzinfo=UTC),
    )
    b = make_appointment(
        make_user("c@example.com", **berlin), title="Bravo", location="Basement",
        start=datetime(2026, 1, 1, 9, tzinfo=UTC), end=datetime(2026, 1, 9, 9, tzinfo=UTC),
    )
    c = make_appointment(
        make_user("a@example.com", **berlin), title="Charlie", location="Attic", all_day=True,
        start=datetime(2026, 1, 2, 23, tzinfo=UTC), end=datetime(2026, 1, 2, 23, tzinfo=UTC),
    )
    html = page(staff, LIST)
    assert column(html, "title") == ["Charlie", "Alpha", "Bravo"]  # latest start first
    expected = {
        "Owner": [c, a, b],
        "Title": [a, b, c],
        "Start": [b, a, c],
        "End": [a, c, b],
        "All day": [a, b, c],
        "Location": [c, b, a],
    }
    for label, order in expected.items():
        ascending = page(staff, sort_link(html, label))
        assert column(ascending, "title") == [x.title for x in order], label
        url = sort_link(ascending, label)
        assert "desc=1" in url
        # Equal values (two timed ones under "All day") are ordered by id, reversed as well.
        assert column(page(staff, url), "title") == [x.title for x in reversed(order)], label


def test_page_size_choice_and_a_pager_without_count(staff, user):
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    for number in range(30):
        make_appointment(user, title=f"Item {number:02d}", start=start + timedelta(days=number))
    first = page(staff, LIST)
    assert len(column(first, "title")) == 25
    assert "List (30)" not in first and "?page=1" in first
    assert f'href="{LIST}?page_size=50"' in first  # the page size menu
    assert len(column(page(staff, f"{LIST}?page_size=50"), "title")) == 30
    assert len(column(page(staff, f"{LIST}?page=1"), "title")) == 5


def test_paging_stops_at_a_fixed_depth(staff, user, monkeypatch):
    monkeypatch.setattr(appointments_admin, "MAX_LIST_OFFSET", 50)
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    for number in range(60):
        make_appointment(user, title=f"Item {number:02d}", start=start + timedelta(days=number))
    second = page(staff, f"{LIST}?page=1")
    assert len(column(second, "title")) == 25
    assert "?page=2" not in second
    assert "Paging stops after 50 appointments." in second
    assert column(page(staff, f"{LIST}?page=7"), "title") == column(second, "title")


# --- Details, create, edit -----------------------------------------------------------------


def test_details_show_everything_on_the_staff_clock(staff, user):
    appointment = make_appointment(
        user, title="Dentist", description="Bring the card.\nAsk about <teeth>.",
        start=datetime(2026, 7, 1, 8, tzinfo=UTC), end=datetime(2026, 7, 1, 9, tzinfo=UTC),
    )
    html = page(staff, f"{LIST}details/?id={appointment.id}")
    assert "owner@example.com" in html and "Dentist" in html
    assert re.search(r"Wednesday, July 1, 2026(,| at) 4:00:00\sAM Eastern Daylight Time", html)
    assert "Bring the card.<br>\nAsk about &lt;teeth&gt;." in html
    assert "Record does not exist." in staff.get(
        f"{LIST}details/?id={2**70}", follow_redirects=True
    ).get_data(as_text=True)


def test_create_form_looks_up_the_owner_and_asks_no_overlap_question(staff, user):
    make_user("someone.else@example.com")
    html = page(staff, f"{LIST}new/")
    owner = re.search(r'<input[^>]*id="owner"[^>]*>', html).group(0)
    assert 'data-role="select2-ajax"' in owner
    assert 'data-url="/admin/appointments/ajax/lookup/?name=owner"' in owner
    # No list of every user in the page (the reminder choice is the form's only <select>).
    assert not re.search(r'<select[^>]*name="owner"', html)
    assert "someone.else@example.com" not in html
    assert "Save anyway" not in html
    assert html.index('id="owner"') < html.index('id="title"') < html.index('id="start"')


INVALID_FORMS = [
    ("owner", {"owner": ""}, "Choose the owner from the list."),
    ("owner", {"owner": "999999"}, "Choose the owner from the list."),
    ("owner", {"owner": "not a number"}, "Choose the owner from the list."),
    ("title", {"title": "  "}, "Enter a title."),
    ("title", {"title": "x" * 256}, "Field cannot be longer than 255 characters."),
    ("start", {"start": "tomorrow"}, "Enter a valid date and time."),
    ("start", {"start": "1800-01-01T10:00"}, "Enter a year between 1900 and 2200."),
    ("end", {"end": "2026-01-15T09:59"}, "The end must not be before the start."),
    # 02:30 on 8 March 2026 is skipped in New York: the clocks jump from 02:00 to 03:00.
    ("start", {"start": "2026-03-08T02:30", "end": "2026-03-08T04:00"}, "does not exist"),
    ("location", {"location": "y" * 256}, "Field cannot be longer than 255 characters."),
    ("description", {"description": "bad\x00text"}, "Remove the invisible control characters."),
]


@pytest.mark.parametrize(("field", "changes", "message"), INVALID_FORMS)
def test_invalid_create_shows_error_next_to_field_and_stores_nothing(
    staff, user, field, changes, message
):
    response = staff.submit(f"{LIST}new/", valid_form(user, **changes))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    errors = field_errors(html, field)
    assert "is-invalid" in errors and message in errors
    assert count_appointments() == 0


def test_create_stores_utc_from_the_staff_clock(staff, user):
    response = staff.submit(f"{LIST}new/", valid_form(user), follow_redirects=True)
    assert "Record was successfully created." in response.get_data(as_text=True)
    appointment = db.session.scalars(select(Appointment)).one()
    # 10:00 in New York in January is 15:00 UTC, whatever the owner's own zone.
    assert appointment.start == datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
    assert appointment.end == datetime(2026, 1, 15, 16, 30, tzinfo=UTC)
    assert appointment.owner_id == user.id
    assert (appointment.title, appointment.location) == ("Dentist", "Main street 1")
    db.session.refresh(user)
    assert user.longest_appointment_seconds == 90 * 60  # the owner's calendar finds it
    assert audited("create") == [("staff@example.com", "Dentist")]


def test_an_all_day_appointment_falls_on_the_owners_days(staff, user):
    staff.submit(
        f"{LIST}new/",
        valid_form(user, start="2026-06-10T00:00", end="2026-06-11T00:00", all_day="y"),
    )
    appointment = db.session.scalars(select(Appointment)).one()
    # Midnight in Berlin, the owner's zone: Olive sees 10 June in her calendar (an end at
    # midnight closes the day before, as in the public form).
    assert appointment.start == appointment.end == datetime(2026, 6, 9, 22, tzinfo=UTC)


def test_edit_shows_the_staff_clock_and_can_change_the_owner(staff, user):
    appointment = make_appointment(
        user, title="Old title",
        start=datetime(2026, 1, 15, 10, tzinfo=UTC), end=datetime(2026, 1, 15, 11, tzinfo=UTC),
    )
    bob = make_user("bob@example.com", full_name="Bob Builder")
    url = f"{LIST}edit/?id={appointment.id}"
    form = page(staff, url)
    assert 'value="2026-01-15T05:00"' in form and 'value="2026-01-15T06:00"' in form
    assert "Olive Owner &lt;owner@example.com&gt;" in form  # the owner chosen so far
    response = staff.submit(
        url,
        valid_form(
            bob, title="New title", start="2026-01-15T05:00", end="2026-01-15T07:00", version="1"
        ),
        follow_redirects=True,
    )
    assert "Record was successfully saved." in response.get_data(as_text=True)
    db.session.refresh(appointment)
    assert (appointment.title, appointment.owner_id) == ("New title", bob.id)
    assert audited("update") == [("staff@example.com", "New title")]
    assert appointment.start == datetime(2026, 1, 15, 10, tzinfo=UTC)
    assert appointment.end == datetime(2026, 1, 15, 12, tzinfo=UTC)


def test_saving_an_all_day_appointment_from_another_zone_keeps_its_days(staff, user):
    berlin_midnight = datetime(2026, 5, 3, 22, tzinfo=UTC)  # 4 May for Olive
    appointment = make_appointment(
        user, title="Holiday", all_day=True, start=berlin_midnight, end=berlin_midnight
    )
    url = f"{LIST}edit/?id={appointment.id}"
    form = page(staff, url)
    assert form.count('value="2026-05-04"') == 2  # her day, not 18:00 on 3 May
    staff.submit(
        url,
        valid_form(user, title="Long holiday", start="2026-05-04T00:00", end="2026-05-04T00:00",
                   all_day="y", version="1"),
    )
    db.session.refresh(appointment)
    assert appointment.title == "Long holiday"
    assert appointment.start == appointment.end == berlin_midnight


def test_invalid_edit_changes_nothing(staff, user):
    appointment = make_appointment(user, title="Keep me")
    before = (appointment.title, appointment.start, appointment.end)
    response = staff.submit(
        f"{LIST}edit/?id={appointment.id}",
        valid_form(user, title="Changed", end="2026-01-15T09:00", version="1"),
    )
    assert "The end must not be before the start." in field_errors(
        response.get_data(as_text=True), "end"
    )
    db.session.expire_all()
    assert (appointment.title, appointment.start, appointment.end) == before


# --- Bulk delete and export ----------------------------------------------------------------


def test_bulk_delete_removes_the_selected_appointments(staff, user):
    first, second, kept = (make_appointment(user, title=f"Item {n}") for n in range(3))
    chosen = {"action": "delete", "rowid": [str(first.id), str(second.id)]}
    # First a page that names what goes, and deletes nothing yet.
    asked = staff.submit(f"{LIST}action/", chosen, form_url=LIST)
    assert asked.status_code == 200
    question = asked.get_data(as_text=True)
    assert "Delete these 2 rows?" in question
    named = re.search(r'<ul id="deleted-objects">(.*?)</ul>', question, re.S).group(1)
    assert re.findall(r"<li>(.*?) <span", named) == ["Item 0", "Item 1"]
    assert count_appointments() == 3
    # Then the answer, from that page's form.
    response = staff.submit(
        f"{LIST}action/", {**chosen, "confirmed": "1"}, form_url=LIST, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "2 records were successfully deleted." in html
    assert column(html, "title") == ["Item 2"]
    assert db.session.scalars(select(Appointment.id)).all() == [kept.id]
    assert sorted(audited("delete")) == [
        ("staff@example.com", "Item 0"), ("staff@example.com", "Item 1"),
    ]


def test_bulk_delete_without_csrf_token_is_refused(staff, user):
    appointment = make_appointment(user)
    response = staff.client.post(
        f"{LIST}action/", data={"action": "delete", "rowid": [str(appointment.id)]}
    )
    assert response.status_code == 400
    assert count_appointments() == 1


def export(browser, query: str = "") -> list[list[str]]:
    response = browser.get(f"{LIST}export/csv/{query}")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;filename=")
    return list(csv.reader(io.StringIO(response.get_data(as_text=True))))


def test_export_csv_holds_the_filtered_list_and_only_appointment_columns(staff, user):
    dentist = make_appointment(
        user, title="Dentist", location="=HYPERLINK(\"http://evil\")", description="Two\nlines",
        start=datetime(2026, 1, 15, 10, tzinfo=UTC), end=datetime(2026, 1, 15, 11, tzinfo=UTC),
    )
    make_appointment(make_user("bob@example.com"), title="Review")
    header, *rows = export(staff, "?search=dentist")
    assert header == [
        "ID", "Owner", "Title", "Start", "End", "All day", "Repeats", "Location", "Description",
        "Created", "Modified",
    ]
    (row,) = rows
    assert row[:9] == [
        str(dentist.id), "owner@example.com", "Dentist", "2026-01-15T05:00:00-05:00",
        "2026-01-15T06:00:00-05:00", "No", "", "'=HYPERLINK(\"http://evil\")", "Two\nlines",
    ]
    assert datetime.fromisoformat(row[9]).utcoffset() == timedelta(hours=-5)
    all_of_them = export(staff)
    assert len(all_of_them) == 3
    assert "password" not in str(all_of_them).lower()


def test_export_follows_filters_and_is_capped(staff, user, app):
    for number in range(3):
        make_appointment(user, title=f"Meeting {number}")
    make_appointment(user, title="Holiday", all_day=True)
    html = page(staff, LIST)
    only_all_day = export(staff, f"?{filter_url(html, 'All day', '1')}")
    assert [row[2] for row in only_all_day[1:]] == ["Holiday"]
    view = next(v for v in app.extensions["admin"][0]._views if v.endpoint == "appointments_admin")
    assert view.export_max_rows == 10_000
    view.export_max_rows = 2
    assert len(export(staff)) == 1 + 2


# --- The date drill-down -------------------------------------------------------------------


def test_date_drilldown_narrows_years_then_months_then_days_and_leads_back(staff, user):
    # 03:00 UTC on 1 January 2026 is still New Year's Eve 2025 in New York.
    make_appointment(user, title="Party", start=datetime(2026, 1, 1, 3, tzinfo=UTC))
    make_appointment(user, title="Dentist", start=datetime(2026, 5, 4, 14, tzinfo=UTC))
    make_appointment(user, title="Review", start=datetime(2026, 5, 20, 14, tzinfo=UTC))
    make_appointment(user, title="Next year", start=datetime(2027, 2, 1, 14, tzinfo=UTC))

    top = drilldown(page(staff, LIST))
    assert top["here"] == "All dates" and top["up"] == {}
    assert list(top["down"]) == ["2025", "2026", "2027"]

    year_page = page(staff, top["down"]["2026"])
    year = drilldown(year_page)
    assert year["here"] == "2026" and list(year["up"]) == ["All dates"]
    assert list(year["down"]) == ["May"]
    assert sorted(column(year_page, "title")) == ["Dentist", "Review"]

    month = drilldown(page(staff, year["down"]["May"]))
    assert month["here"] == "May 2026" and list(month["up"]) == ["All dates", "2026"]
    assert list(month["down"]) == ["May 4", "May 20"]

    day_page = page(staff, month["down"]["May 4"])
    day = drilldown(day_page)
    assert day["here"] == "Mon, May 4, 2026" and day["down"] == {}
    assert list(day["up"]) == ["All dates", "2026", "May"]
    assert column(day_page, "title") == ["Dentist"]

    assert drilldown(page(staff, day["up"]["2026"]))["here"] == "2026"
    assert len(column(page(staff, day["up"]["All dates"]), "title")) == 4


def test_date_drilldown_of_a_list_longer_than_a_page(staff, user):
    # More than a page at every level, so the periods come from the database, not the page.
    starts = [datetime(2026, 5, 1, 12, tzinfo=UTC) + timedelta(hours=25 * n) for n in range(30)]
    starts += [
        datetime(2026, 1, 1, 3, tzinfo=UTC),  # 31 December 2025 in New York
        datetime(2026, 5, 1, 2, tzinfo=UTC),  # 30 April in New York
        datetime(2026, 7, 14, 12, tzinfo=UTC),
        datetime(2026, 9, 1, 3, 30, tzinfo=UTC),  # 31 August in New York
        datetime(2026, 11, 2, 12, tzinfo=UTC),
        datetime(2028, 3, 3, 12, tzinfo=UTC),  # nothing in 2027
    ]
    for number, start in enumerate(starts):
        make_appointment(user, title=f"Item {number:02d}", start=start)
    zone = ZoneInfo(STAFF_ZONE)
    days = sorted({start.astimezone(zone).date() for start in starts})

    top = drilldown(page(staff, LIST))
    assert list(top["down"]) == ["2025", "2026", "2028"]
    year = drilldown(page(staff, top["down"]["2026"]))
    assert list(year["down"]) == ["April", "May", "July", "August", "November"]
    month = drilldown(page(staff, year["down"]["May"]))
    in_may = [day for day in days if (day.year, day.month) == (2026, 5)]
    assert len(in_may) > 25
    assert list(month["down"]) == [f"May {day.day}" for day in in_may]
    assert drilldown(page(staff, f"{LIST}?search=nothing-like-it"))["down"] == {}


def test_date_drilldown_keeps_the_search_and_other_filters(staff, user):
    make_appointment(user, title="Review", start=datetime(2026, 5, 4, 14, tzinfo=UTC))
    make_appointment(
        user, title="Review", all_day=True, start=datetime(2027, 5, 4, 14, tzinfo=UTC)
    )
    make_appointment(user, title="Dentist", start=datetime(2028, 5, 4, 14, tzinfo=UTC))
    html = page(staff, LIST)
    searched = drilldown(page(staff, f"{LIST}?search=review"))
    assert list(searched["down"]) == ["2026", "2027"]
    assert "search=review" in searched["down"]["2026"]
    timed = f"{LIST}?search=review&{filter_url(html, 'All day', '0')}"
    timed_page = page(staff, drilldown(page(staff, timed))["down"]["2026"])
    assert column(timed_page, "title") == ["Review"]
    assert "search=review" in drilldown(timed_page)["up"]["All dates"]


def test_date_drilldown_shows_a_chosen_range_and_a_way_back(staff, user):
    make_appointment(user, title="Dentist", start=datetime(2026, 5, 4, 14, tzinfo=UTC))
    html = page(staff, LIST)
    ten_days = filter_url(html, "Start date", "2026-05-01+to+2026-05-10")
    chosen = drilldown(page(staff, f"{LIST}?{ten_days}"))
    assert re.fullmatch(r"May 1\s–\s10, 2026", chosen["here"])
    assert list(chosen["up"]) == ["All dates"] and list(chosen["down"]) == ["2026"]


# --- The owner lookup ----------------------------------------------------------------------


def test_owner_lookup_answers_json_a_page_at_a_time(staff, user):
    response = staff.get(f"{LIST}ajax/lookup/?name=owner&query=olive")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.get_json() == [[user.id, "Olive Owner <owner@example.com>"]]
    for number in range(12):
        make_user(f"member{number:02d}@example.com")
    first = staff.get(f"{LIST}ajax/lookup/?name=owner&query=member&limit=1000").get_json()
    assert [label for _id, label in first] == [f"member{n:02d}@example.com" for n in range(10)]
    negative = staff.get(f"{LIST}ajax/lookup/?name=owner&query=member&limit=-1").get_json()
    assert negative == first
    rest = staff.get(f"{LIST}ajax/lookup/?name=owner&query=member&offset=10").get_json()
    assert [label for _id, label in rest] == ["member10@example.com", "member11@example.com"]
    assert staff.get(f"{LIST}ajax/lookup/?name=owner&query=%25").get_json() == []
    assert staff.get(f"{LIST}ajax/lookup/?name=nothing&query=a").status_code == 404


# --- Who may use these pages ---------------------------------------------------------------

ENDPOINTS = [
    ("GET", ""),
    ("GET", "details/?id={id}"),
    ("GET", "new/"),
    ("POST", "new/"),
    ("GET", "edit/?id={id}"),
    ("POST", "edit/?id={id}"),
    ("POST", "delete/"),
    ("POST", "action/"),
    ("GET", "export/csv/"),
    ("GET", "ajax/lookup/?name=owner&query=o"),
]


def request_as(browser, method: str, path: str, appointment, token: str):
    url = LIST + path.format(id=appointment.id)
    if method == "GET":
        return browser.get(url)
    data = {
        **valid_form(appointment.owner, title="Taken over"),
        "csrf_token": token,
        "id": str(appointment.id),
        "action": "delete",
        "rowid": str(appointment.id),
    }
    return browser.client.post(url, data=data)


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_plain_users_are_refused(browser, user, method, path):
    appointment = make_appointment(user, title="Mine")
    browser.login(user.email)
    response = request_as(browser, method, path, appointment, browser.token("/appointments/"))
    assert response.status_code == 403
    db.session.expire_all()
    assert db.session.scalars(select(Appointment.title)).all() == ["Mine"]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_anonymous_visitors_are_sent_to_log_in(browser, user, method, path):
    appointment = make_appointment(user, title="Mine")
    response = request_as(browser, method, path, appointment, browser.token("/login"))
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    db.session.expire_all()
    assert db.session.scalars(select(Appointment.title)).all() == ["Mine"]
