"""The audit log and series: a series, a changed occurrence and an excluded occurrence each
recorded as what it is, and an operation that writes several rows (a split, a deleted
occurrence) recorded row by row with ``changes_recorded``, whatever it flushes on the way."""

from __future__ import annotations

from datetime import datetime, timedelta

import flask_login
import pytest
from sqlalchemy import select

from app.admin.audit import object_label
from app.audit import recording as audit
from app.audit.models import AuditEntry
from app.extensions import db
from app.scheduling import series as series_changes
from app.scheduling.models import Appointment
from tests.support.factories import make_appointment, make_user
from tests.support.zones import BERLIN, UTC

HOUR = timedelta(hours=1)
WEEK = timedelta(weeks=1)
MONDAY = datetime(2026, 4, 6, 9, tzinfo=BERLIN)  # 07:00 UTC
AUDIT_URL = "/admin/audit/"


@pytest.fixture
def as_staff(app):
    """A request context with a staff member logged in, as the admin panel's hooks run."""
    staff = make_user("staff@example.com", roles=("staff",))
    with app.test_request_context("/admin/"):
        flask_login.login_user(staff)
        yield staff


@pytest.fixture
def series(user) -> Appointment:
    return make_appointment(
        user, title="Team meeting", start=MONDAY, end=MONDAY + HOUR,
        rrule="FREQ=WEEKLY;BYDAY=MO;COUNT=10", series_timezone="Europe/Berlin",
    )


def entries() -> list[AuditEntry]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEntry).order_by(AuditEntry.id)))


def summary(entry: AuditEntry) -> tuple[str, str, str]:
    return entry.action, entry.object_type, entry.object_repr


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def test_a_change_of_a_series_is_recorded_as_one(as_staff, series):
    series.rrule = "FREQ=WEEKLY;BYDAY=MO;COUNT=5"
    audit.record_change(series, created=False)
    db.session.commit()
    (entry,) = entries()
    assert summary(entry) == ("update", "Series", "Team meeting")
    assert entry.changes == {
        "rrule": ["FREQ=WEEKLY;BYDAY=MO;COUNT=10", "FREQ=WEEKLY;BYDAY=MO;COUNT=5"]
    }


def test_a_series_that_stops_repeating_is_still_recorded_as_a_series(as_staff, series):
    series.rrule = series.series_timezone = None
    audit.record_change(series, created=False)
    db.session.commit()
    (entry,) = entries()
    assert entry.object_type == "Series"
    assert entry.changes["rrule"] == ["FREQ=WEEKLY;BYDAY=MO;COUNT=10", ""]


def test_a_new_changed_occurrence_names_its_series_and_original_start(as_staff, series):
    with audit.changes_recorded():
        exception = series_changes.make_exception(series, MONDAY.astimezone(UTC) + WEEK)
        exception.title = "Team meeting (moved)"
    db.session.commit()
    (entry,) = entries()  # the series' own change (its modified time) is no change to record
    assert summary(entry) == ("create", "Exception", "Team meeting (moved)")
    assert entry.object_id == str(exception.id)
    assert entry.changes["series_id"] == ["", str(series.id)]
    assert entry.changes["recurrence_id"] == ["", stamp(MONDAY + WEEK)]
    assert object_label(entry) == f"Changed occurrence of series {series.id}"


def test_deleting_one_occurrence_records_its_exclusion(as_staff, series):
    with audit.changes_recorded():
        series_changes.delete_occurrence(series, MONDAY.astimezone(UTC) + WEEK)
    db.session.commit()
    (entry,) = entries()
    assert summary(entry) == ("create", "ExcludedOccurrence", "Team meeting")
    assert entry.object_id == f"{series.id},{stamp(MONDAY + WEEK)}"
    assert entry.changes == {
        "series_id": ["", str(series.id)],
        "recurrence_id": ["", stamp(MONDAY + WEEK)],
    }
    assert object_label(entry) == f"Excluded occurrence of series {series.id}"


def test_a_split_records_the_old_series_rule_and_the_new_series(as_staff, series):
    moved = series_changes.make_exception(series, MONDAY.astimezone(UTC) + 4 * WEEK)
    moved.title = "Moved"
    series_changes.delete_occurrence(series, MONDAY.astimezone(UTC) + 5 * WEEK)
    db.session.commit()
    with audit.changes_recorded():  # split() flushes half-way: each row is recorded all the same
        halves = series_changes.split(series, MONDAY.astimezone(UTC) + 3 * WEEK)
    db.session.commit()
    later = halves.after
    log = entries()
    assert [summary(entry) for entry in log] == [
        ("update", "Series", "Team meeting"),
        ("create", "Series", "Team meeting"),
        ("update", "Exception", "Moved"),
        ("delete", "ExcludedOccurrence", "Team meeting"),
        ("create", "ExcludedOccurrence", "Team meeting"),
    ]
    old_rule, new_series, exception, gone, excluded = log
    assert old_rule.object_id == str(series.id)
    assert old_rule.changes == {
        "rrule": ["FREQ=WEEKLY;BYDAY=MO;COUNT=10", "FREQ=WEEKLY;BYDAY=MO;COUNT=3"]
    }
    assert new_series.object_id == str(later.id)
    assert new_series.changes["rrule"] == ["", "FREQ=WEEKLY;BYDAY=MO;COUNT=7"]
    assert new_series.changes["start"] == ["", stamp(MONDAY + 3 * WEEK)]
    assert gone.changes["series_id"] == [str(series.id), ""]
    assert excluded.changes["series_id"] == ["", str(later.id)]
    assert exception.changes == {"series_id": [str(series.id), str(later.id)]}
    assert object_label(exception) == f"Changed occurrence of series {later.id}"


def test_rows_written_again_as_they_were_are_no_change(as_staff, series):
    series_changes.delete_occurrence(series, MONDAY.astimezone(UTC) + WEEK)
    db.session.commit()
    with audit.changes_recorded():
        series.title = "Stand-up"
        # The same rule and start: its excluded occurrence is deleted and written again.
        series_changes.change_series(series, timedelta(0), series.rrule)
    db.session.commit()
    assert [summary(entry) for entry in entries()] == [("update", "Series", "Stand-up")]


def test_objects_recorded_already_are_left_out(as_staff, series):
    series.title = "Stand-up"
    audit.record_change(series, created=False)
    with audit.changes_recorded(series):
        series_changes.delete_occurrence(series, MONDAY.astimezone(UTC) + WEEK)
    db.session.commit()
    assert [summary(entry) for entry in entries()] == [
        ("update", "Series", "Stand-up"),
        ("create", "ExcludedOccurrence", "Stand-up"),
    ]


def test_nothing_is_recorded_after_leaving(as_staff, series):
    with audit.changes_recorded():
        pass
    series.title = "Stand-up"
    db.session.commit()
    assert entries() == []


def test_the_log_names_series_changed_and_excluded_occurrences(browser, as_staff, series):
    for entry in [
        AuditEntry(action="update", object_type="Series", object_repr="Weekly one"),
        AuditEntry(action="update", object_type="Exception", object_repr="Moved one",
                   changes={"title": ["A", "B"]}),
        AuditEntry(action="create", object_type="Exception", object_repr="New one",
                   changes={"series_id": ["", "12"]}),
        AuditEntry(action="create", object_type="ExcludedOccurrence", object_repr="Gone one",
                   changes={"series_id": ["", "12"], "recurrence_id": ["", "2026-04-13T07:00"]}),
    ]:
        db.session.add(entry)
    db.session.commit()
    browser.login("staff@example.com")
    page = browser.get(AUDIT_URL).get_data(as_text=True)
    for label in (
        '<td class="col-object_type">Series</td>',
        '<td class="col-object_type">Changed occurrence</td>',
        '<td class="col-object_type">Changed occurrence of series 12</td>',
        '<td class="col-object_type">Excluded occurrence of series 12</td>',
    ):
        assert label in page, label
    assert "Original start" in page and "Series</th>" in page
    only_series = browser.get(f"{AUDIT_URL}?flt0_object_type=Series").get_data(as_text=True)
    assert "Weekly one" in only_series and "Moved one" not in only_series
    dashboard = browser.get("/admin/").get_data(as_text=True).split('id="latest-audit"', 1)[1]
    assert "Excluded occurrence of series 12 Gone one" in dashboard
