"""No lost updates in the admin panel: a stale edit of an appointment is refused, not saved."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEntry
from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.browser import text
from tests.support.concurrent import meanwhile
from tests.support.factories import make_appointment, make_user
from tests.support.html_form import HTMLForm
from tests.support.queries import count_appointments, stored

LIST = "/admin/appointments/"
CHANGED = (
    "This appointment was changed meanwhile (in another tab or by someone else). Reload it to "
    "see the changes, then make your edit again."
)
DELETED = "This appointment was deleted meanwhile (in another tab or by someone else)."
DELETE_REFUSED = (
    "This appointment was changed meanwhile, so it was not deleted. Reload the page to see the "
    "changes, then delete it again if you still want to."
)
NOT_MATCHED = (
    "This form could not be matched with the saved appointment. Reload the page and make your "
    "edit again."
)
FLASK_ADMINS_OWN_FAILURES = ("Failed to update record", "Failed to save record", "StaleDataError")


@pytest.fixture
def staff(browser):
    make_user("staff@example.com", roles=("staff",), timezone="America/New_York")
    browser.login("staff@example.com")
    return browser


@pytest.fixture
def appointment(user):
    return make_appointment(user, title="Budget review", location="Room 1")


def edit_url(appointment_id: int) -> str:
    return f"{LIST}edit/?id={appointment_id}"


def open_form(browser, appointment_id: int) -> HTMLForm:
    response = browser.get(edit_url(appointment_id))
    assert response.status_code == 200
    return HTMLForm(response.get_data(as_text=True))


def audited(action: str) -> list[str]:
    """The objects named by the audit log's appointment entries with this action."""
    entries = db.session.scalars(
        select(AuditEntry).filter_by(action=action, object_type="Appointment")
    )
    return [entry.object_repr for entry in entries]


def test_only_the_edit_form_carries_the_version_and_no_page_shows_it(staff, appointment):
    edit = staff.get(edit_url(appointment.id)).get_data(as_text=True)
    assert HTMLForm(edit).fields["version"] == "1"
    assert '<input id="version" name="version" type="hidden" value="1">' in edit
    assert ">Version<" not in edit  # hidden: no label, no field to type in
    create = staff.get(f"{LIST}new/").get_data(as_text=True)
    assert 'name="version"' not in create
    for url in (LIST, f"{LIST}details/?id={appointment.id}"):
        page = staff.get(url)
        assert page.status_code == 200
        assert "version" not in page.get_data(as_text=True).lower()
    export = staff.get(f"{LIST}export/csv/")
    assert export.status_code == 200
    assert "version" not in export.get_data(as_text=True).splitlines()[0].lower()


def test_create_still_works_without_a_version(staff, user):
    form = HTMLForm(staff.get(f"{LIST}new/").get_data(as_text=True))
    data = form.filled(
        owner=str(user.id), title="Fresh", start="2026-01-15T10:00", end="2026-01-15T11:00"
    )
    response = staff.client.post(f"{LIST}new/", data=data, follow_redirects=True)
    assert "Record was successfully created." in text(response)
    assert db.session.scalars(select(Appointment)).one().version == 1


def test_second_edit_form_is_refused_and_the_first_edit_is_kept(staff, appointment):
    first = open_form(staff, appointment.id)
    second = open_form(staff, appointment.id)
    saved = staff.client.post(
        edit_url(appointment.id), data=first.filled(title="Budget review, moved"),
        follow_redirects=True,
    )
    assert "Record was successfully saved." in text(saved)

    refused = staff.client.post(edit_url(appointment.id), data=second.filled(location="Room 2"))
    assert refused.status_code == 409
    html = text(refused)
    assert CHANGED in html
    assert not any(failure in html for failure in FLASK_ADMINS_OWN_FAILURES)
    # Still the edit form, as typed, with a way to load the appointment as it is now.
    assert 'value="Room 2"' in html
    assert 'id="edit-conflict"' in html and "Reload the appointment" in html
    reload_link = html.split('id="edit-conflict"', 1)[1].split('href="', 1)[1].split('"', 1)[0]
    assert reload_link.startswith(edit_url(appointment.id))
    reloaded = HTMLForm(staff.get(reload_link).get_data(as_text=True))
    assert reloaded.fields["title"] == "Budget review, moved"
    assert reloaded.fields["version"] == "2"

    kept = stored(appointment.id)
    assert (kept.title, kept.location, kept.version) == ("Budget review, moved", "Room 1", 2)
    assert audited("update") == ["Budget review, moved"]  # the refused edit left no entry


@pytest.mark.parametrize("version", [None, "", "two"], ids=repr)
def test_an_edit_without_a_valid_version_is_a_bad_request(staff, appointment, version):
    data = open_form(staff, appointment.id).filled(title="Changed")
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    response = staff.client.post(edit_url(appointment.id), data=data)
    assert response.status_code == 400
    html = text(response)
    assert NOT_MATCHED in html and 'value="Changed"' in html
    assert stored(appointment.id).title == "Budget review"
    assert audited("update") == []


def test_an_edit_racing_another_is_refused_with_our_message(staff, appointment):
    form = open_form(staff, appointment.id)

    def edit_elsewhere(session: Session) -> None:
        session.get(Appointment, appointment.id).title = "Changed elsewhere"

    with meanwhile(edit_elsewhere) as happened:
        refused = staff.client.post(edit_url(appointment.id), data=form.filled(location="Room 2"))
    assert happened
    assert refused.status_code == 409
    html = text(refused)
    assert CHANGED in html
    assert not any(failure in html for failure in FLASK_ADMINS_OWN_FAILURES)
    assert 'value="Room 2"' in html and "Reload the appointment" in html
    kept = stored(appointment.id)
    assert (kept.title, kept.location, kept.version) == ("Changed elsewhere", "Room 1", 2)
    assert audited("update") == []


def test_an_edit_racing_a_delete_says_so_and_does_not_bring_it_back(staff, appointment):
    form = open_form(staff, appointment.id)

    def delete_elsewhere(session: Session) -> None:
        session.delete(session.get(Appointment, appointment.id))

    with meanwhile(delete_elsewhere) as happened:
        response = staff.client.post(edit_url(appointment.id), data=form.filled(title="Mine"))
    assert happened
    assert response.status_code == 302 and response.headers["Location"].startswith(LIST)
    assert DELETED in text(staff.get(response.headers["Location"]))
    assert count_appointments() == 0
    assert audited("update") == []


def test_an_edit_of_an_appointment_deleted_before_is_refused(staff, appointment):
    form = open_form(staff, appointment.id)
    delete_form = HTMLForm(staff.get(LIST).get_data(as_text=True))
    token = delete_form.fields["csrf_token"]
    deleted = staff.client.post(f"{LIST}delete/", data={"csrf_token": token, "id": appointment.id})
    assert deleted.status_code == 302 and count_appointments() == 0
    response = staff.client.post(
        edit_url(appointment.id), data=form.filled(title="Mine"), follow_redirects=True
    )
    assert "Record does not exist." in text(response)
    assert count_appointments() == 0


def test_a_delete_racing_an_edit_is_refused(staff, appointment):
    """The audit entry would describe what was deleted as it was before the other edit."""
    token = HTMLForm(staff.get(LIST).get_data(as_text=True)).fields["csrf_token"]

    def edit_elsewhere(session: Session) -> None:
        session.get(Appointment, appointment.id).title = "Changed elsewhere"

    with meanwhile(edit_elsewhere) as happened:
        response = staff.client.post(
            f"{LIST}delete/", data={"csrf_token": token, "id": appointment.id},
            follow_redirects=True,
        )
    assert happened
    html = text(response)
    assert DELETE_REFUSED in html
    assert "successfully deleted" not in html and "Failed to delete" not in html
    assert stored(appointment.id).title == "Changed elsewhere"
    assert audited("delete") == []

    # Once reloaded, the delete goes through.
    response = staff.client.post(
        f"{LIST}delete/", data={"csrf_token": token, "id": appointment.id}, follow_redirects=True
    )
    assert "Record was successfully deleted." in text(response)
    assert count_appointments() == 0
    assert audited("delete") == ["Changed elsewhere"]


def test_a_delete_racing_another_delete_says_it_is_gone(staff, appointment):
    token = HTMLForm(staff.get(LIST).get_data(as_text=True)).fields["csrf_token"]

    def delete_elsewhere(session: Session) -> None:
        session.delete(session.get(Appointment, appointment.id))

    with meanwhile(delete_elsewhere) as happened:
        response = staff.client.post(
            f"{LIST}delete/", data={"csrf_token": token, "id": appointment.id},
            follow_redirects=True,
        )
    assert happened
    assert DELETED in text(response)
    assert count_appointments() == 0
    assert audited("delete") == []
