"""The appointment pages, used through HTTP as a browser would."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.factories import appointment_form, make_appointment, make_user
from tests.support.queries import count_appointments
from tests.support.zones import UTC


def valid_form(**changes) -> dict:
    return appointment_form(**{"description": "Bring the card.\nAsk about <teeth>.", **changes})


@pytest.mark.parametrize(
    "url",
    ["/appointments/", "/appointments/create/", "/appointments/1/", "/appointments/1/edit/"],
)
def test_pages_send_anonymous_visitors_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_list_shows_only_my_appointments_in_start_order(logged_in, user):
    later = make_appointment(user, title="Later one", start=datetime(2026, 3, 2, 9, tzinfo=UTC))
    make_appointment(user, title="Earlier one", start=datetime(2026, 3, 1, 9, tzinfo=UTC))
    make_appointment(make_user(), title="Somebody else's")
    html = logged_in.get("/appointments/").get_data(as_text=True)
    assert html.index("Earlier one") < html.index("Later one")
    assert "Somebody else" not in html
    assert f"/appointments/{later.id}/edit/" in html


def test_list_is_paginated(logged_in, user, app):
    per_page = app.config["APPOINTMENTS_PER_PAGE"]
    start = datetime(2026, 3, 1, 9, tzinfo=UTC)
    for number in range(per_page + 1):
        make_appointment(user, title=f"Item {number:02d}", start=start + timedelta(days=number))
    first = logged_in.get("/appointments/").get_data(as_text=True)
    second = logged_in.get("/appointments/?page=2").get_data(as_text=True)
    assert f"Item {per_page - 1:02d}" in first and f"Item {per_page:02d}" not in first
    assert f"Item {per_page:02d}" in second


def test_create_stores_utc_and_shows_local_time(logged_in, user):
    response = logged_in.submit("/appointments/create/", valid_form(), follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "Appointment “Dentist” created." in html
    appointment = db.session.scalars(select(Appointment)).one()
    # Olive lives in Berlin: 10:00 there in January is 09:00 UTC.
    assert appointment.start == datetime(2026, 1, 15, 9, 0, tzinfo=UTC)
    assert appointment.end == datetime(2026, 1, 15, 10, 30, tzinfo=UTC)
    assert appointment.owner_id == user.id
    assert re.search(r"Thu, Jan 15, 2026, 10:00\s*–\s*11:30\s*AM", html)
    assert "1 hour and 30 minutes" in html
    # nl2br escapes first, then breaks lines.
    assert "Bring the card.<br>\nAsk about &lt;teeth&gt;." in html


def test_summer_time_is_converted_with_the_summer_offset(logged_in):
    logged_in.submit(
        "/appointments/create/", valid_form(start="2026-07-01T10:00", end="2026-07-01T10:00")
    )
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.start == datetime(2026, 7, 1, 8, 0, tzinfo=UTC)


def test_all_day_appointment_covers_whole_local_days(logged_in):
    logged_in.submit(
        "/appointments/create/",
        valid_form(start="2026-01-15T10:00", end="2026-01-17T08:00", all_day="y"),
    )
    appointment = db.session.scalars(select(Appointment)).one()
    assert appointment.all_day
    assert appointment.start == datetime(2026, 1, 14, 23, 0, tzinfo=UTC)  # Berlin midnight
    assert appointment.duration == timedelta(days=3)
    html = logged_in.get(f"/appointments/{appointment.id}/").get_data(as_text=True)
    assert "3 days" in html and "All day" in html


INVALID_FORMS = [
    ("title", {"title": ""}, "Enter a title."),
    ("title", {"title": "   "}, "Enter a title."),
    ("title", {"title": "x" * 256}, "Field cannot be longer than 255 characters."),
    ("title", {"title": "bad\x00title"}, "Remove the invisible control characters."),
    ("start", {"start": ""}, "Enter a date and time."),
    ("start", {"start": "tomorrow"}, "Enter a valid date and time."),
    ("start", {"start": "2026-02-30T10:00"}, "Enter a valid date and time."),
    ("start", {"start": "1800-01-01T10:00"}, "Enter a year between 1900 and 2200."),
    ("end", {"end": "2026-01-15T09:59"}, "The end must not be before the start."),
    # 02:30 on 29 March 2026 is skipped in Berlin: clocks jump from 02:00 to 03:00.
    ("start", {"start": "2026-03-29T02:30", "end": "2026-03-29T04:00"}, "does not exist"),
    ("location", {"location": "y" * 256}, "Field cannot be longer than 255 characters."),
]


@pytest.mark.parametrize(("field", "changes", "message"), INVALID_FORMS)
def test_invalid_create_shows_error_next_to_field_and_stores_nothing(
    logged_in, field, changes, message
):
    response = logged_in.submit("/appointments/create/", valid_form(**changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    errors = html.split(f'id="{field}-errors"', 1)
    assert len(errors) == 2, f"no error block for {field}"
    assert message in errors[1].split("</div>\n  </div>", 1)[0]
    assert f'id="{field}"' in html and "is-invalid" in html
    assert count_appointments() == 0


def test_detail_edit_and_delete_my_appointment(logged_in, user):
    appointment = make_appointment(user, title="Old title")
    assert "Old title" in logged_in.get(f"/appointments/{appointment.id}/").get_data(as_text=True)
    edit_url = f"/appointments/{appointment.id}/edit/"
    form = logged_in.get(edit_url).get_data(as_text=True)
    assert 'value="Old title"' in form
    response = logged_in.submit(
        edit_url, valid_form(title="New title", version="1"), follow_redirects=True
    )
    assert "Appointment “New title” saved." in response.get_data(as_text=True)
    db.session.refresh(appointment)
    assert appointment.title == "New title"

    token = logged_in.token("/appointments/")
    response = logged_in.delete(f"/appointments/{appointment.id}/delete/", token=token)
    assert response.status_code == 200
    assert response.get_json() == {"status": "OK"}
    assert count_appointments() == 0
    assert "deleted" in logged_in.get("/appointments/").get_data(as_text=True)


def test_invalid_edit_changes_nothing(logged_in, user):
    appointment = make_appointment(user, title="Keep me")
    before = (appointment.title, appointment.start, appointment.end)
    response = logged_in.submit(
        f"/appointments/{appointment.id}/edit/",
        valid_form(title="Changed", end="2026-01-15T09:00", version="1"),
    )
    assert "The end must not be before the start." in response.get_data(as_text=True)
    db.session.expire_all()
    assert (appointment.title, appointment.start, appointment.end) == before


def test_another_users_appointment_answers_404_everywhere(logged_in):
    theirs = make_appointment(make_user(), title="Private")
    base = f"/appointments/{theirs.id}"
    assert logged_in.get(f"{base}/").status_code == 404
    assert logged_in.get(f"{base}/edit/").status_code == 404
    assert logged_in.submit(f"{base}/edit/", valid_form(), form_url="/appointments/").status_code == 404
    token = logged_in.token("/appointments/")
    assert logged_in.delete(f"{base}/delete/", token=token).status_code == 404
    db.session.refresh(theirs)
    assert theirs.title == "Private"


def test_missing_and_huge_ids_answer_404(logged_in):
    assert logged_in.get("/appointments/999/").status_code == 404
    assert logged_in.get(f"/appointments/{2**70}/").status_code == 404


def test_a_404_does_not_tell_whether_someone_elses_appointment_exists(logged_in):
    """The answers for another user's id and a missing one differ only where they echo the URL."""
    theirs = make_appointment(make_user(), title="Private")
    missing = theirs.id + 1000

    def answers(appointment_id: int) -> list[tuple[int, str]]:
        base = f"/appointments/{appointment_id}"
        responses = [
            logged_in.get(f"{base}/"),
            logged_in.get(f"{base}/edit/"),
            logged_in.submit(f"{base}/edit/", valid_form(), form_url="/appointments/"),
            logged_in.get(f"{base}/ics"),
            logged_in.delete(f"{base}/delete/", token=logged_in.token("/appointments/")),
        ]
        return [
            (response.status_code, re.sub(r'(value|content)="[\w.-]{40,}"', r'\1="token"',
                                          response.get_data(as_text=True))
             .replace(f"/appointments/{appointment_id}/", "/appointments/{id}/"))
            for response in responses
        ]

    theirs_answers, missing_answers = answers(theirs.id), answers(missing)
    assert [status for status, _ in theirs_answers] == [404] * 5
    assert theirs_answers == missing_answers


def test_delete_without_csrf_token_is_refused(logged_in, user):
    appointment = make_appointment(user)
    response = logged_in.delete(f"/appointments/{appointment.id}/delete/")
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == 400
    assert count_appointments() == 1


def test_create_without_csrf_token_is_refused(logged_in):
    response = logged_in.client.post("/appointments/create/", data=valid_form())
    assert response.status_code == 400
    assert count_appointments() == 0


def test_delete_needs_http_delete(logged_in, user):
    appointment = make_appointment(user)
    response = logged_in.get(f"/appointments/{appointment.id}/delete/")
    assert response.status_code == 405
    assert "DELETE" in response.headers["Allow"]
    assert count_appointments() == 1


def test_database_refuses_end_before_start(app, user):
    start = datetime(2026, 1, 1, 10, tzinfo=UTC)
    db.session.add(Appointment(owner=user, title="Bad", start=start, end=start - timedelta(1)))
    with pytest.raises(Exception, match="CHECK constraint failed|check constraint"):
        db.session.commit()
    db.session.rollback()
    assert count_appointments() == 0


def input_value(html: str, field_id: str) -> str:
    match = re.search(rf'<input [^>]*id="{field_id}"[^>]*>', html)
    assert match, f"no input {field_id}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else ""


def is_checked(html: str, field_id: str) -> bool:
    match = re.search(rf'<input [^>]*id="{field_id}"[^>]*>', html)
    assert match, f"no input {field_id}"
    return " checked" in match.group(0)


@pytest.mark.parametrize(
    ("query", "start", "end"),
    [
        ("start=2026-05-04T09:00", "2026-05-04T09:00", "2026-05-04T10:00"),
        ("start=2026-05-04T23:30", "2026-05-04T23:30", "2026-05-05T00:30"),
        # An hour after 01:30 on the night the clocks go forward in Berlin is 03:30.
        ("start=2026-03-29T01:30", "2026-03-29T01:30", "2026-03-29T03:30"),
        # 02:00 that night does not exist in Berlin: the clocks jump to 03:00.
        ("start=2026-03-29T02:00", "2026-03-29T03:00", "2026-03-29T04:00"),
    ],
)
def test_calendar_link_prefills_an_hour_from_the_slot(logged_in, query, start, end):
    response = logged_in.get(f"/appointments/create/?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert input_value(html, "start") == start
    assert input_value(html, "end") == end
    assert not is_checked(html, "all_day")


def test_calendar_link_for_a_day_prefills_an_all_day_appointment(logged_in):
    html = logged_in.get("/appointments/create/?start=2026-05-04T00:00&all_day=1").get_data(
        as_text=True
    )
    # All day: the day alone, in date inputs.
    assert input_value(html, "start") == "2026-05-04"
    assert input_value(html, "end") == "2026-05-04"
    assert 'type="date"' in html
    assert is_checked(html, "all_day")


def test_prefilled_times_are_saved_on_the_users_clock(logged_in):
    url = "/appointments/create/?start=2026-05-04T09:00"
    html = logged_in.get(url).get_data(as_text=True)
    times = {field: input_value(html, field) for field in ("start", "end")}
    response = logged_in.submit(url, {"title": "Standup", **times}, follow_redirects=True)
    assert "Appointment “Standup” created." in response.get_data(as_text=True)
    appointment = db.session.scalars(select(Appointment)).one()
    # 09:00 in Berlin in May is 07:00 UTC.
    assert appointment.start == datetime(2026, 5, 4, 7, 0, tzinfo=UTC)
    assert appointment.end == datetime(2026, 5, 4, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "query",
    [
        "",
        "start=",
        "start=tomorrow",
        "start=2026-05-04",
        "start=2026-05-04T09:00:00",
        "start=2026-02-30T10:00",
        "start=1899-12-31T23:00",
        "start=2201-01-01T00:00",
        "start=" + "9" * 5000,
        "all_day=1",
        "start=nonsense&all_day=1",
    ],
)
def test_bad_calendar_links_give_a_blank_form(logged_in, query):
    response = logged_in.get(f"/appointments/create/?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert input_value(html, "start") == "" and input_value(html, "end") == ""
    assert not is_checked(html, "all_day")


def test_a_nul_character_in_a_calendar_link_is_refused(logged_in):
    response = logged_in.get("/appointments/create/?start=2026-05-04T09%00:00")
    assert response.status_code == 400
    assert "an invisible control character" in response.get_data(as_text=True)


def idempotency_key_from(html: str) -> str:
    match = re.search(r'name="idempotency_key" type="hidden" value="([^"]+)"', html) or re.search(
        r'type="hidden" name="idempotency_key" value="([^"]+)"', html)
    assert match, "the create form has no one-time key"
    return match.group(1)


def test_the_create_form_sent_twice_makes_one_appointment(logged_in):
    html = logged_in.get("/appointments/create/").get_data(as_text=True)
    key = idempotency_key_from(html)
    form = {"csrf_token": re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
            .group(1), "idempotency_key": key, **valid_form()}
    first = logged_in.client.post("/appointments/create/", data=form)
    second = logged_in.client.post("/appointments/create/", data=form, follow_redirects=True)
    assert first.status_code == 302
    assert count_appointments() == 1
    [appointment] = db.session.scalars(select(Appointment)).all()
    assert first.headers["Location"] == f"/appointments/{appointment.id}/"
    assert second.request.path == f"/appointments/{appointment.id}/"
    assert "was already created; it was not added twice." in second.get_data(as_text=True)
    # A new form has a new key: the same appointment entered again is made again, on purpose.
    again = logged_in.get("/appointments/create/").get_data(as_text=True)
    assert idempotency_key_from(again) != key
    response = logged_in.submit("/appointments/create/", valid_form(confirm_overlap="1"))
    assert response.status_code == 302
    assert count_appointments() == 2


def test_a_second_submission_saved_meanwhile_is_found_not_doubled(logged_in, user):
    """Both submissions pass the look-up; the database's unique key stops the second insert."""
    from tests.support.concurrent import meanwhile

    html = logged_in.get("/appointments/create/").get_data(as_text=True)
    key = idempotency_key_from(html)
    owner_id = user.id

    def first_submission(session):
        session.add(Appointment(owner_id=owner_id, idempotency_key=key, title="Dentist",
                                start=datetime(2026, 1, 15, 9, tzinfo=timezone.utc),
                                end=datetime(2026, 1, 15, 10, tzinfo=timezone.utc)))

    with meanwhile(first_submission) as done:
        response = logged_in.submit("/appointments/create/", {"idempotency_key": key,
                                                              **valid_form()})
    assert done and response.status_code == 302
    [appointment] = db.session.scalars(select(Appointment)).all()
    assert response.headers["Location"] == f"/appointments/{appointment.id}/"


def test_a_malformed_form_key_is_ignored(logged_in):
    for day, key in enumerate(("x", "<script>", "a" * 200), start=10):
        times = {"start": f"2026-01-{day}T10:00", "end": f"2026-01-{day}T11:00"}
        response = logged_in.submit("/appointments/create/", {"idempotency_key": key,
                                                              **valid_form(**times)})
        assert response.status_code == 302
    assert count_appointments() == 3
    assert db.session.scalars(select(Appointment.idempotency_key)).all() == [None] * 3
