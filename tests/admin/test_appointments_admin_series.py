"""Series and their changed occurrences in the admin panel, used through HTTP as a staff member's
browser would: the list says how each appointment repeats and filters and searches by it, a
series is made and edited as a whole (its changed and deleted occurrences follow it), a changed
occurrence is edited without repeat fields and deleted as one occurrence."""

from __future__ import annotations

import html as html_lib
import json
import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import event, select

from app.admin.appointments import could_be_in_a_rule
from app.audit.models import AuditEntry
from app.extensions import db
from app.scheduling import series as series_changes
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.occurrences import instances_between
from tests.admin.test_appointments_admin import LIST, STAFF_ZONE, column, field_errors, filter_url
from tests.support.browser import page, text
from tests.support.factories import make_appointment, make_user
from tests.support.html_form import HTMLForm
from tests.support.queries import stored
from tests.support.zones import BERLIN, UTC

HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)
# A Monday, 09:00 in Berlin (07:00 UTC, 03:00 in New York, where the staff member is).
MONDAY = datetime(2026, 4, 6, 9, tzinfo=BERLIN)


@pytest.fixture
def staff(browser):
    make_user("staff@example.com", roles=("staff",), timezone=STAFF_ZONE)
    browser.login("staff@example.com")
    return browser


@pytest.fixture
def record_queries(app):
    """Collect the SQL the app sends while the test runs."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield statements
    event.remove(db.engine, "before_cursor_execute", record)


def make_series(owner, rule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", **attributes) -> Appointment:
    values = {"title": "Team meeting", "start": MONDAY, "end": MONDAY + HOUR, **attributes}
    return make_appointment(owner, rrule=rule, series_timezone="Europe/Berlin", **values)


def make_exception(series: Appointment, recurrence_id: datetime, **changes) -> Appointment:
    exception = series_changes.make_exception(series, recurrence_id)
    for name, value in changes.items():
        setattr(exception, name, value)
    db.session.commit()
    return exception


def exclude(series: Appointment, recurrence_id: datetime) -> None:
    series_changes.delete_occurrence(series, recurrence_id)
    db.session.commit()


def edit_form(browser, appointment: Appointment) -> HTMLForm:
    return HTMLForm(page(browser, f"{LIST}edit/?id={appointment.id}"))


def save(browser, appointment: Appointment, **changes):
    """Send the edit form as shown, with these changes."""
    url = f"{LIST}edit/?id={appointment.id}"
    return edit_form(browser, appointment).press(browser.client, url, **changes)


def entries(**criteria) -> list[AuditEntry]:
    """The audit log's entries about appointments, oldest first (not the staff's login)."""
    db.session.expire_all()
    query = select(AuditEntry).where(AuditEntry.action != "login").filter_by(**criteria)
    return list(db.session.scalars(query.order_by(AuditEntry.id)))


def shown(user, start=MONDAY - WEEK, end=MONDAY + 6 * WEEK) -> list[tuple[str, datetime]]:
    db.session.expire_all()
    return [(i.title, i.start) for i in instances_between(user, start, end)]


def filter_groups(html: str) -> dict:
    data = re.search(r'<div id="filter-groups-data" class="d-none">(.*?)</div>', html, re.S)
    return json.loads(html_lib.unescape(data.group(1)))


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


# --- The list ------------------------------------------------------------------------------


def test_the_list_says_how_each_appointment_repeats(staff, user):
    series = make_series(user)
    exception = make_exception(series, utc(MONDAY + WEEK), title="Team meeting (moved)")
    make_appointment(user, title="Dentist")
    html = page(staff, LIST)
    repeats = dict(zip(column(html, "title"), column(html, "repeats"), strict=True))
    assert repeats["Team meeting"] == "Every week on Monday and Wednesday, 10 times"
    assert repeats["Dentist"] == ""
    assert repeats["Team meeting (moved)"] == (
        f'<a href="{LIST}details/?id={series.id}">Changed occurrence of series {series.id}</a>'
    )
    assert 'title="Sort by Repeats"' not in html, "not sortable: no index answers it"
    assert exception.id != series.id


def test_a_rule_the_phrases_cannot_say_is_shown_as_written(staff, user):
    make_series(user, rule="FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1")
    (cell,) = column(page(staff, LIST), "repeats")
    assert cell == "Repeats by a custom rule (FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1)"


def test_series_and_changed_occurrences_cost_the_list_no_query_per_row(
    staff, user, record_queries
):
    make_appointment(user)
    record_queries.clear()
    page(staff, LIST)
    few = len(record_queries)
    for number in range(6):
        series = make_series(make_user(f"owner{number}@example.com"), title=f"Series {number}")
        make_exception(series, utc(MONDAY + WEEK), title=f"Changed {number}")
    record_queries.clear()
    html = page(staff, LIST)
    assert len(column(html, "repeats")) == 13
    assert len(record_queries) == few


def test_the_repeats_filter(staff, user):
    series = make_series(user, title="Weekly")
    make_exception(series, utc(MONDAY + WEEK), title="Moved")
    make_appointment(user, title="Once")
    html = page(staff, LIST)
    for choice, titles in [("single", ["Once"]), ("series", ["Weekly"]), ("exception", ["Moved"])]:
        assert column(page(staff, f"{LIST}?{filter_url(html, 'Repeats', choice)}"), "title") == (
            titles
        ), choice
    refused = staff.get(f"{LIST}?{filter_url(html, 'Repeats', 'sometimes')}")
    assert refused.status_code == 400
    (repeats_filter,) = filter_groups(html)["Repeats"]
    assert repeats_filter["options"] == [
        ["single", "Single appointment"], ["series", "Series"], ["exception", "Changed occurrence"],
    ]


def test_search_finds_a_series_by_its_rule(staff, user, record_queries):
    make_series(user, title="Weekly", rule="FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10")
    make_series(user, title="Monthly", rule="FREQ=MONTHLY;BYMONTHDAY=6")
    make_appointment(user, title="Dentist")
    for term, titles in [
        ("byday=mo", ["Weekly"]),
        ("WEEKLY", ["Weekly"]),
        ("bymonthday", ["Monthly"]),
        ("=FREQ=MONTHLY;BYMONTHDAY=6", ["Monthly"]),
        ("dentist", ["Dentist"]),
    ]:
        assert column(page(staff, f"{LIST}?search={term}"), "title") == titles, term
    assert "Repeat rule" in page(staff, LIST).split('type="search"', 1)[1].split(">", 1)[0]
    record_queries.clear()
    page(staff, f"{LIST}?search=dentist")
    assert not [sql for sql in record_queries if "rrule) LIKE" in sql], "rules not searched"


@pytest.mark.parametrize(
    ("term", "could"),
    [
        ("weekly", True),
        ("BYDAY=MO,WE", True),
        ("count=10", True),
        ("^FREQ=DAILY", True),
        ("UNTIL=20260415T065959Z", True),
        ("-1FR", True),
        ("mo", True),
        ("dentist", False),
        ("owner@example.com", False),
        ("Orthodontist", False),
        ("MOTU", False),
        ("50%", False),
    ],
)
def test_only_words_that_could_be_part_of_a_rule_are_looked_for_in_rules(term, could):
    assert could_be_in_a_rule(term) is could


def test_details_show_the_rule_and_a_changed_occurrences_place(staff, user):
    series = make_series(user)
    exception = make_exception(series, utc(MONDAY + WEEK), start=utc(MONDAY + WEEK + HOUR))
    html = text(staff.get(f"{LIST}details/?id={series.id}"))
    assert "Every week on Monday and Wednesday, 10 times" in html
    assert '<code class="series-rule">FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10</code>' in html
    html = text(staff.get(f"{LIST}details/?id={exception.id}"))
    link = f'<a href="{LIST}details/?id={series.id}">Changed occurrence of series {series.id}</a>'
    assert link in html
    # 07:00 UTC on 13 April is 03:00 in New York.
    assert "In place of the occurrence at Monday, April 13, 2026" in html
    assert "3:00:00" in html.split("In place of the occurrence at", 1)[1].split("<", 1)[0]


def test_export_says_how_each_repeats(staff, user):
    series = make_series(user)
    make_exception(series, utc(MONDAY + WEEK), title="Moved")
    response = staff.get(f"{LIST}export/csv/")
    lines = response.get_data(as_text=True).splitlines()
    assert "Repeats" in lines[0].split(",")
    assert any("Every week on Monday and Wednesday" in line for line in lines)
    assert any(f"Changed occurrence of series {series.id}" in line for line in lines)


# --- Creating and editing a series ---------------------------------------------------------


def test_staff_create_a_weekly_series_for_an_owner_on_the_owners_clock(staff, user):
    form = HTMLForm(page(staff, f"{LIST}new/"))
    response = form.press(
        staff.client, f"{LIST}new/", owner=str(user.id), title="Team meeting",
        start="2026-04-06T03:00", end="2026-04-06T04:00",  # New York: 09:00 in Berlin
        repeat="WEEKLY", repeat_weekdays=["MO", "WE"], repeat_ends="count", repeat_count="10",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    series = db.session.scalars(select(Appointment)).one()
    assert (series.rrule, series.series_timezone) == (
        "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "Europe/Berlin",
    )
    assert series.start == utc(MONDAY) and series.owner_id == user.id
    assert len(shown(user)) == 10
    (entry,) = entries(action="create")
    assert (entry.object_type, entry.object_repr) == ("Series", "Team meeting")
    assert entry.changes["rrule"] == ["", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"]
    assert entry.changes["series_timezone"] == ["", "Europe/Berlin"]


def test_editing_a_series_title_keeps_its_rule(staff, user):
    series = make_series(user)
    form = edit_form(staff, series)
    assert form.fields["repeat"] == "WEEKLY" and form.fields["repeat_weekdays"] == ["MO", "WE"]
    assert (form.fields["repeat_ends"], form.fields["repeat_count"]) == ("count", "10")
    response = save(staff, series, title="Stand-up")
    assert response.status_code == 302, response.get_data(as_text=True)
    edited = stored(series.id)
    assert edited.title == "Stand-up"
    assert (edited.rrule, edited.series_timezone) == (
        "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "Europe/Berlin",
    )
    assert edited.start == utc(MONDAY)
    (entry,) = entries(action="update")
    assert entry.object_type == "Series"
    assert entry.changes == {"title": ["Team meeting", "Stand-up"]}


def test_a_rule_the_fields_cannot_say_is_kept(staff, user):
    series = make_series(user, rule="FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1")
    assert edit_form(staff, series).fields["repeat"] == "KEEP"
    assert save(staff, series, title="Pilates").status_code == 302
    assert stored(series.id).rrule == "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1"


def test_a_change_of_the_rule_is_a_change_of_the_series_in_the_log(staff, user):
    series = make_series(user)
    assert save(staff, series, repeat_count="3").status_code == 302
    assert stored(series.id).rrule == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3"
    (entry,) = entries(action="update")
    assert entry.object_type == "Series"
    assert entry.changes == {
        "rrule": ["FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3"],
    }
    log = text(staff.get("/admin/audit/"))
    assert "<td class=\"col-object_type\">Series</td>" in log
    assert "Repeat rule" in log


def test_moving_a_series_moves_its_changed_and_deleted_occurrences(staff, user):
    series = make_series(user)
    exception = make_exception(series, utc(MONDAY + WEEK), title="Moved")
    exclude(series, utc(MONDAY + 2 * WEEK))
    response = save(staff, series, start="2026-04-06T04:00", end="2026-04-06T05:00",
                    version=str(stored(series.id).version))
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(series.id).start == utc(MONDAY + HOUR)
    assert stored(exception.id).recurrence_id == utc(MONDAY + WEEK + HOUR)
    excluded = db.session.scalars(select(ExcludedOccurrence.recurrence_id)).all()
    assert [moment.astimezone(UTC) for moment in excluded] == [utc(MONDAY + 2 * WEEK + HOUR)]
    titles = [title for title, _start in shown(user)]
    assert titles.count("Moved") == 1 and len(titles) == 9
    by_type = {(entry.action, entry.object_type) for entry in entries()}
    assert by_type == {
        ("update", "Series"), ("update", "Exception"),
        ("delete", "ExcludedOccurrence"), ("create", "ExcludedOccurrence"),
    }
    (moved,) = entries(action="update", object_type="Exception")
    assert moved.changes == {
        "recurrence_id": ["2026-04-13T07:00:00+00:00", "2026-04-13T08:00:00+00:00"],
    }


def test_a_change_of_rule_that_keeps_the_deleted_occurrences_logs_only_the_rule(staff, user):
    series = make_series(user)
    exclude(series, utc(MONDAY + 2 * WEEK))
    assert save(staff, series, repeat_count="8").status_code == 302
    assert [(e.action, e.object_type) for e in entries()] == [("update", "Series")]
    assert db.session.scalars(select(ExcludedOccurrence)).one().series_id == series.id


def test_a_series_given_to_another_owner_takes_its_changed_occurrences_along(staff, user):
    bob = make_user("bob@example.com", timezone="Europe/Berlin")
    series = make_series(user)
    exception = make_exception(series, utc(MONDAY + WEEK), title="Moved")
    response = save(staff, series, owner=str(bob.id), start="2026-04-06T04:00",
                    end="2026-04-06T05:00")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(series.id).owner_id == stored(exception.id).owner_id == bob.id
    assert stored(exception.id).recurrence_id == utc(MONDAY + WEEK + HOUR)  # moved with it
    (moved,) = entries(action="update", object_type="Exception")
    assert moved.changes == {
        "owner": ["owner@example.com", "bob@example.com"],
        "recurrence_id": ["2026-04-13T07:00:00+00:00", "2026-04-13T08:00:00+00:00"],
    }


def test_a_series_that_no_longer_repeats_keeps_its_changed_occurrences(staff, user):
    series = make_series(user)
    exception = make_exception(series, utc(MONDAY + WEEK), title="Moved")
    response = save(staff, series, repeat="")
    assert response.status_code == 302
    assert stored(series.id).rrule is None
    assert (stored(exception.id).series_id, stored(exception.id).title) == (None, "Moved")


# --- A changed occurrence ------------------------------------------------------------------


def test_a_changed_occurrence_is_edited_without_repeat_fields_and_its_times_saved(staff, user):
    series = make_series(user)
    exception = make_exception(series, utc(MONDAY + WEEK), title="Moved")
    version = stored(series.id).version
    form = edit_form(staff, exception)
    assert not [name for name in form.fields if name.startswith("repeat")]
    assert form.fields["start"] == "2026-04-13T03:00"  # on the staff member's clock
    response = save(staff, exception, start="2026-04-13T05:30", end="2026-04-13T06:00")
    assert response.status_code == 302, response.get_data(as_text=True)
    edited = stored(exception.id)
    assert (edited.start, edited.end) == (
        datetime(2026, 4, 13, 9, 30, tzinfo=UTC), datetime(2026, 4, 13, 10, tzinfo=UTC),
    )
    assert (edited.series_id, edited.recurrence_id, edited.rrule) == (
        series.id, utc(MONDAY + WEEK), None,
    )
    # A change of one of its occurrences is a change of the series: its open pages are stale.
    assert stored(series.id).version > version
    assert ("Moved", datetime(2026, 4, 13, 9, 30, tzinfo=UTC)) in shown(user)
    (entry,) = entries(action="update")
    assert entry.object_type == "Exception"
    assert set(entry.changes) == {"start", "end"}


def test_a_changed_occurrence_keeps_the_owner_of_its_series(staff, user):
    bob = make_user("bob@example.com")
    series = make_series(user)
    exception = make_exception(series, utc(MONDAY + WEEK), title="Moved")
    response = save(staff, exception, owner=str(bob.id))
    assert "change the series&#39; owner instead" in field_errors(
        response.get_data(as_text=True), "owner"
    )
    assert stored(exception.id).owner_id == user.id


def test_deleting_a_changed_occurrence_deletes_that_occurrence(staff, user):
    series = make_series(user)
    exception = make_exception(series, utc(MONDAY + WEEK), title="Moved")
    response = staff.submit(
        f"{LIST}delete/", {"id": str(exception.id)}, form_url=LIST, follow_redirects=True
    )
    assert "Record was successfully deleted." in response.get_data(as_text=True)
    assert stored(exception.id) is None
    assert utc(MONDAY + WEEK) not in [start for _title, start in shown(user)]
    assert len(shown(user)) == 9
    deleted, excluded = entries()
    assert (deleted.action, deleted.object_type, deleted.object_repr) == (
        "delete", "Exception", "Moved",
    )
    assert (excluded.action, excluded.object_type, excluded.object_repr) == (
        "create", "ExcludedOccurrence", "Team meeting",
    )
    assert excluded.changes == {
        "series_id": ["", str(series.id)],
        "recurrence_id": ["", "2026-04-13T07:00:00+00:00"],
    }
    log = text(staff.get("/admin/audit/"))
    assert f"Excluded occurrence of series {series.id}" in log
    assert f"Changed occurrence of series {series.id}" in log
