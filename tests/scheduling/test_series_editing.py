"""Series through the appointment pages, as a user fills them in: made with the repeat fields,
then changed or deleted as only this one, this and following, or all, each guarded by the
series' version; bad repeat input gets its error next to the field and stores nothing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence
from app.scheduling.occurrences import instances_between
from tests.scheduling.test_calendar_views import cell
from tests.support.browser import page
from tests.support.factories import make_appointment
from tests.support.html_form import HTMLForm
from tests.support.queries import count_appointments
from tests.support.zones import BERLIN, UTC

CREATE = "/appointments/create/"
HOUR = timedelta(hours=1)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def create(browser, **changes):
    """Fill in the new-appointment form as shown, with these changes, and send it."""
    form = HTMLForm(page(browser, CREATE))
    values = {"title": "Team meeting", "start": "2026-04-06T09:00", "end": "2026-04-06T10:00",
              **changes}
    return form.press(browser.client, CREATE, **values)


def open_form(browser, url: str) -> HTMLForm:
    return HTMLForm(page(browser, url))


def the_series() -> Appointment:
    db.session.expire_all()
    return db.session.scalars(select(Appointment).where(Appointment.rrule.is_not(None))).one()


def shown(user, start=utc(2026, 4, 1), end=utc(2026, 6, 1)) -> list[tuple[str, datetime]]:
    db.session.expire_all()
    return [(i.title, i.start) for i in instances_between(user, start, end)]


def occurrence_url(series: Appointment, moment: datetime, page_name: str = "") -> str:
    suffix = f"{page_name}/" if page_name else ""
    return f"/appointments/{series.id}/{suffix}?occurrence={moment:%Y%m%dT%H%M%SZ}"


def test_a_weekly_series_made_in_the_form_shows_in_the_month(logged_in, user):
    response = create(logged_in, repeat="WEEKLY", repeat_weekdays=["MO", "WE"],
                      repeat_ends="count", repeat_count="10")
    assert response.status_code == 302
    series = the_series()
    assert series.rrule == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"
    assert series.series_timezone == "Europe/Berlin" and series.start == utc(2026, 4, 6, 7)
    detail = page(logged_in, response.headers["Location"])
    assert "Every week on Monday and Wednesday, 10 times" in detail
    april = page(logged_in, "/calendar/month/2026/4/")
    for day in (6, 8, 13, 15, 20, 22, 27, 29):
        assert "Team meeting" in cell(april, date(2026, 4, day)), day
    may = page(logged_in, "/calendar/month/2026/5/")
    assert "Team meeting" in cell(may, date(2026, 5, 4))
    assert "Team meeting" in cell(may, date(2026, 5, 6))
    assert "Team meeting" not in cell(may, date(2026, 5, 11))  # the eleventh would be


def test_every_way_to_repeat_makes_its_rule(logged_in, user):
    cases = [
        ({"repeat": "DAILY", "repeat_interval": "3"}, "FREQ=DAILY;INTERVAL=3"),
        ({"repeat": "MONTHLY", "repeat_monthly": "day"}, "FREQ=MONTHLY;BYMONTHDAY=30"),
        ({"repeat": "MONTHLY", "repeat_monthly": "weekday"}, "FREQ=MONTHLY;BYDAY=5TH"),
        ({"repeat": "MONTHLY", "repeat_monthly": "last"}, "FREQ=MONTHLY;BYDAY=-1TH"),
        ({"repeat": "YEARLY", "repeat_ends": "until", "repeat_until": "2030-04-30"},
         "FREQ=YEARLY;UNTIL=20300430T215959Z"),
    ]
    for changes, rule in cases:
        # Thursday 30 April 2026, the fifth and last Thursday of the month.
        response = create(logged_in, start="2026-04-30T09:00", end="2026-04-30T10:00", **changes)
        assert response.status_code == 302, response.get_data(as_text=True)
        series = the_series()
        assert series.rrule == rule
        db.session.delete(series)
        db.session.commit()


def test_weekly_on_other_days_starts_on_the_first_of_them(logged_in, user):
    create(logged_in, repeat="WEEKLY", repeat_weekdays=["TU", "TH"])  # typed on a Monday
    series = the_series()
    assert series.start == utc(2026, 4, 7, 7) and series.end == utc(2026, 4, 7, 8)
    assert shown(user, end=utc(2026, 4, 14))[:3] == [
        ("Team meeting", utc(2026, 4, 7, 7)), ("Team meeting", utc(2026, 4, 9, 7)),
        ("Team meeting", utc(2026, 4, 14, 7))][:2]


@pytest.mark.parametrize(
    "changes, field, message",
    [
        ({"repeat_interval": "0"}, "repeat_interval", "Repeat every 1 to 1000"),
        ({"repeat_ends": "count", "repeat_count": "1001"}, "repeat_count", "Repeat 1 to 1000"),
        ({"repeat_ends": "count", "repeat_count": ""}, "repeat_count", "Repeat 1 to 1000"),
        ({"repeat_ends": "until", "repeat_until": "2026-04-01"}, "repeat_until",
         "must not end before it starts"),
        ({"repeat_ends": "until", "repeat_until": ""}, "repeat_until", "Enter the last day"),
        ({"repeat_weekdays": ["XX"]}, "repeat_weekdays", "not a valid choice"),
        ({"repeat": "HOURLY"}, "repeat", "Not a valid choice"),
        ({"repeat": "MONTHLY", "repeat_monthly": "last"}, "repeat_monthly",
         "not in the last week"),
    ],
)
def test_bad_repeat_input_is_refused_next_to_its_field(logged_in, user, changes, field, message):
    response = create(logged_in, **{"repeat": "WEEKLY", **changes})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = html.split(f'id="{field}-errors"', 1)[1].split("</div>\n", 1)[0]
    assert message in errors
    assert count_appointments() == 0


def series_from_form(browser, **changes) -> Appointment:
    response = create(browser, repeat="WEEKLY", repeat_weekdays=["MO", "WE"], **changes)
    assert response.status_code == 302
    return the_series()


def test_only_this_one_moves_one_occurrence_and_keeps_its_identity(logged_in, user):
    series = series_from_form(logged_in)
    url = occurrence_url(series, utc(2026, 4, 8, 7), "edit")
    form = open_form(logged_in, url)
    assert form.fields["scope"] == "this" and form.fields["start"] == "2026-04-08T09:00"
    response = form.press(logged_in.client, url, title="Moved", start="2026-04-09T12:00",
                          end="2026-04-09T13:00")
    assert response.status_code == 302
    exception = db.session.scalar(select(Appointment).filter_by(title="Moved"))
    assert exception.series_id == series.id and exception.recurrence_id == utc(2026, 4, 8, 7)
    assert exception.rrule is None and the_series().version == 2
    week = shown(user, utc(2026, 4, 6), utc(2026, 4, 13))
    assert week == [("Team meeting", utc(2026, 4, 6, 7)), ("Moved", utc(2026, 4, 9, 10))]
    # The original occurrence's address now leads to the exception, which says it was changed.
    redirected = logged_in.get(occurrence_url(series, utc(2026, 4, 8, 7)))
    assert redirected.headers["Location"] == f"/appointments/{exception.id}/"
    assert "this occurrence was changed" in page(logged_in, f"/appointments/{exception.id}/")
    # Changed again, it stays the one exception.
    again = open_form(logged_in, f"/appointments/{exception.id}/edit/")
    again.press(logged_in.client, f"/appointments/{exception.id}/edit/", title="Moved twice")
    assert shown(user, utc(2026, 4, 9), utc(2026, 4, 10)) == [("Moved twice", utc(2026, 4, 9, 10))]
    assert db.session.scalar(select(func.count()).where(Appointment.series_id == series.id)) == 1


def test_deleting_only_this_one_excludes_its_date(logged_in, user):
    series = series_from_form(logged_in)
    url = occurrence_url(series, utc(2026, 4, 8, 7), "delete/occurrences")
    form = open_form(logged_in, url)
    assert form.fields["scope"] == "this"
    response = form.press(logged_in.client, url)
    assert response.status_code == 302
    excluded = db.session.scalars(select(ExcludedOccurrence)).all()
    assert [(e.series_id, e.recurrence_id) for e in excluded] == [(series.id, utc(2026, 4, 8, 7))]
    week = shown(user, utc(2026, 4, 6), utc(2026, 4, 13))
    assert week == [("Team meeting", utc(2026, 4, 6, 7))]
    gone = logged_in.get(occurrence_url(series, utc(2026, 4, 8, 7)))
    assert gone.status_code == 404 and b"no such occurrence" in gone.data


def test_this_and_following_splits_the_series_and_divides_its_count(logged_in, user):
    series = series_from_form(logged_in, repeat_ends="count", repeat_count="10")
    # Wednesday 15 April, the fourth occurrence, moved to Thursday at the same time.
    url = occurrence_url(series, utc(2026, 4, 15, 7), "edit")
    form = open_form(logged_in, url)
    assert form.fields["repeat_count"] == "7"  # from this one on
    response = form.press(logged_in.client, url, scope="following",
                          start="2026-04-16T09:00", end="2026-04-16T10:00")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    old, new = db.session.scalars(
        select(Appointment).where(Appointment.rrule.is_not(None)).order_by(Appointment.id)
    ).all()
    assert old.rrule == "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=3"
    assert new.rrule == "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=7"  # Wednesday became Thursday
    assert new.start == utc(2026, 4, 16, 7)
    starts = [start for _, start in shown(user, utc(2026, 4, 1), utc(2026, 7, 1))]
    assert len(starts) == 10
    assert starts[:5] == [utc(2026, 4, 6, 7), utc(2026, 4, 8, 7), utc(2026, 4, 13, 7),
                          utc(2026, 4, 16, 7), utc(2026, 4, 20, 7)]


def test_this_and_following_without_count_ends_the_old_series_the_second_before(
    logged_in, user
):
    series = series_from_form(logged_in)
    url = occurrence_url(series, utc(2026, 4, 15, 7), "edit")
    open_form(logged_in, url).press(logged_in.client, url, scope="following", title="New era")
    db.session.expire_all()
    old = db.session.get(Appointment, series.id)
    assert old.rrule == "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20260415T065959Z"
    titles = [title for title, _ in shown(user, utc(2026, 4, 13), utc(2026, 4, 21))]
    assert titles == ["Team meeting", "New era", "New era"]


def test_all_changes_every_occurrence_and_keeps_the_exceptions_that_still_fit(logged_in, user):
    series = series_from_form(logged_in)
    this = occurrence_url(series, utc(2026, 4, 8, 7), "edit")
    open_form(logged_in, this).press(logged_in.client, this, title="Moved",
                                     start="2026-04-08T15:00", end="2026-04-08T16:00")
    url = occurrence_url(series, utc(2026, 4, 13, 7), "edit")
    # An hour later, every time; the exception's name moves with its occurrence.
    response = open_form(logged_in, url).press(
        logged_in.client, url, scope="all", title="Planning", start="2026-04-13T10:00",
        end="2026-04-13T11:00")
    assert response.status_code == 302, response.get_data(as_text=True)
    series = the_series()
    assert series.start == utc(2026, 4, 6, 8) and series.title == "Planning"
    exception = db.session.scalar(select(Appointment).filter_by(title="Moved"))
    assert exception.series_id == series.id and exception.recurrence_id == utc(2026, 4, 8, 8)
    assert shown(user, utc(2026, 4, 6), utc(2026, 4, 14)) == [
        ("Planning", utc(2026, 4, 6, 8)), ("Moved", utc(2026, 4, 8, 13)),
        ("Planning", utc(2026, 4, 13, 8))]


def test_all_with_a_rule_that_drops_an_exception_keeps_it_as_its_own(logged_in, user):
    series = series_from_form(logged_in)
    this = occurrence_url(series, utc(2026, 4, 8, 7), "edit")
    open_form(logged_in, this).press(logged_in.client, this, title="Moved")
    url = occurrence_url(series, utc(2026, 4, 13, 7), "edit")
    response = open_form(logged_in, url).press(logged_in.client, url, scope="all",
                                               repeat_weekdays="MO")
    assert response.status_code == 302
    kept = db.session.scalar(select(Appointment).filter_by(title="Moved"))
    assert kept.series_id is None and kept.recurrence_id is None
    follow = logged_in.get(response.headers["Location"])
    assert "kept as an appointment of its own" in follow.get_data(as_text=True)
    assert ("Moved", utc(2026, 4, 8, 7)) in shown(user)


def test_deleting_this_and_following_or_all(logged_in, user):
    series = series_from_form(logged_in)
    url = occurrence_url(series, utc(2026, 4, 15, 7), "delete/occurrences")
    open_form(logged_in, url).press(logged_in.client, url, scope="following")
    assert [start for _, start in shown(user)] == [
        utc(2026, 4, 6, 7), utc(2026, 4, 8, 7), utc(2026, 4, 13, 7)]
    url = occurrence_url(series, utc(2026, 4, 8, 7), "delete/occurrences")
    open_form(logged_in, url).press(logged_in.client, url, scope="all")
    assert shown(user) == [] and count_appointments() == 0


def test_an_edit_from_a_stale_page_is_refused_whichever_the_scope(logged_in, user):
    series = series_from_form(logged_in)
    url = occurrence_url(series, utc(2026, 4, 8, 7), "edit")
    stale = open_form(logged_in, url)
    other = occurrence_url(series, utc(2026, 4, 13, 7), "edit")
    open_form(logged_in, other).press(logged_in.client, other, title="Elsewhere")
    for scope in ("this", "following", "all"):
        refused = stale.press(logged_in.client, url, scope=scope, title="Mine")
        assert refused.status_code == 409
        assert 'id="edit-conflict"' in refused.get_data(as_text=True)
    delete_url = occurrence_url(series, utc(2026, 4, 8, 7), "delete/occurrences")
    stale_delete = open_form(logged_in, delete_url)
    later = occurrence_url(series, utc(2026, 4, 20, 7), "edit")
    open_form(logged_in, later).press(logged_in.client, later, title="Elsewhere again")
    assert stale_delete.press(logged_in.client, delete_url).status_code == 409
    titles = {title for title, _ in shown(user)}
    assert titles == {"Team meeting", "Elsewhere", "Elsewhere again"}


@pytest.mark.parametrize("stamp", ["nonsense", "20260409T070000Z", "20260330T070000Z"])
def test_an_occurrence_the_series_does_not_have_is_a_404(logged_in, user, stamp):
    series = series_from_form(logged_in)
    for suffix in ("", "edit/", "delete/occurrences/"):
        response = logged_in.get(f"/appointments/{series.id}/{suffix}?occurrence={stamp}")
        assert response.status_code == 404


def test_a_series_made_by_hand_opens_as_its_first_occurrence(logged_in, user):
    start = datetime(2026, 4, 6, 9, tzinfo=BERLIN)
    series = make_appointment(user, title="Yoga", start=start, end=start + HOUR,
                              rrule="FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1",
                              series_timezone="Europe/Berlin")
    form = open_form(logged_in, f"/appointments/{series.id}/edit/")
    assert form.fields["scope"] == "all" and form.fields["repeat"] == "KEEP"
    response = form.press(logged_in.client, f"/appointments/{series.id}/edit/", title="Pilates")
    assert response.status_code == 302
    assert the_series().rrule == "FREQ=MONTHLY;BYDAY=MO,TU;BYSETPOS=1"
    assert the_series().title == "Pilates"


def test_a_new_series_warns_of_what_its_occurrences_overlap(logged_in, user):
    dentist = make_appointment(user, title="Dentist", start=utc(2026, 4, 20, 7, 30),
                               end=utc(2026, 4, 20, 8, 30))  # the third Monday, at 09:30
    make_appointment(user, title="Lunch", start=utc(2026, 4, 20, 11))  # no overlap
    response = create(logged_in, repeat="WEEKLY", repeat_weekdays=["MO"])
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="overlap-warning"' in html
    warning = html.split('id="overlap-warning"', 1)[1].split("</div>", 1)[0]
    assert f'href="/appointments/{dentist.id}/"' in warning and "Lunch" not in warning
    assert count_appointments() == 2  # nothing stored until confirmed
    confirmed = HTMLForm(html).press(logged_in.client, CREATE, button="confirm_overlap")
    assert confirmed.status_code == 302 and the_series().rrule == "FREQ=WEEKLY;BYDAY=MO"


def test_all_without_a_repeat_makes_one_appointment_and_keeps_the_changed_ones(logged_in, user):
    series = series_from_form(logged_in)
    this = occurrence_url(series, utc(2026, 4, 8, 7), "edit")
    open_form(logged_in, this).press(logged_in.client, this, title="Moved")
    url = occurrence_url(series, utc(2026, 4, 6, 7), "edit")
    response = open_form(logged_in, url).press(logged_in.client, url, scope="all", repeat="")
    assert response.status_code == 302, response.get_data(as_text=True)
    db.session.expire_all()
    single = db.session.get(Appointment, series.id)
    assert single.rrule is None and single.series_timezone is None
    moved = db.session.scalar(select(Appointment).filter_by(title="Moved"))
    assert moved.series_id is None
    assert shown(user) == [("Team meeting", utc(2026, 4, 6, 7)), ("Moved", utc(2026, 4, 8, 7))]
