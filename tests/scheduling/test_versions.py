"""No lost updates: an edit made from an outdated form is refused, never saved over another."""

from __future__ import annotations

import html as html_lib
import re

import pytest
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.browser import text
from tests.support.concurrent import meanwhile
from tests.support.factories import make_appointment
from tests.support.html_form import HTMLForm
from tests.support.queries import count_appointments, stored

CHANGED = (
    "This appointment was changed meanwhile (in another tab or by someone else). Reload it to "
    "see the changes, then make your edit again."
)
DELETED = "This appointment was deleted meanwhile (in another tab or by someone else)."
NOT_MATCHED = (
    "This form could not be matched with the saved appointment. Reload the page and make your "
    "edit again."
)


@pytest.fixture
def appointment(user):
    return make_appointment(user, title="Dentist", location="Main street 1")


def edit_url(appointment_id: int) -> str:
    return f"/appointments/{appointment_id}/edit/"


def open_form(browser, appointment_id: int) -> HTMLForm:
    """Open the edit page, as in a new tab, and return its form as shown."""
    response = browser.get(edit_url(appointment_id))
    assert response.status_code == 200
    return HTMLForm(response.get_data(as_text=True))


def save_elsewhere(browser, appointment_id: int) -> None:
    """Edit the appointment in another tab: open the form, change the title, save."""
    form = open_form(browser, appointment_id)
    response = browser.client.post(edit_url(appointment_id), data=form.filled(title="Elsewhere"))
    assert response.status_code == 302


def conflict_alert(html: str) -> str:
    """The refusal's message at the top of the form, or "" if there is none."""
    match = re.search(r'<div [^>]*id="edit-conflict">(.*?)</div>', html, re.S)
    return html_lib.unescape(match.group(1)) if match else ""


def test_the_edit_form_carries_the_version_it_was_filled_from(logged_in, appointment):
    form = open_form(logged_in, appointment.id)
    assert form.fields["version"] == "1"


def test_second_tab_is_refused_and_the_first_edit_is_kept(logged_in, appointment):
    first_tab = open_form(logged_in, appointment.id)
    second_tab = open_form(logged_in, appointment.id)

    saved = logged_in.client.post(
        edit_url(appointment.id), data=first_tab.filled(title="Dentist, moved"),
        follow_redirects=True,
    )
    assert "Appointment “Dentist, moved” saved." in text(saved)

    refused = logged_in.client.post(
        edit_url(appointment.id), data=second_tab.filled(location="Station road 2")
    )
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    alert = conflict_alert(html)
    assert CHANGED in alert
    assert f'href="{edit_url(appointment.id)}"' in alert and "Reload the appointment" in alert
    # The message is above the form's fields, and what the user typed is still there to copy.
    assert html.index('id="edit-conflict"') < html.index('id="title"')
    assert 'value="Station road 2"' in html
    assert "saved." not in html

    kept = stored(appointment.id)
    assert (kept.title, kept.location, kept.version) == ("Dentist, moved", "Main street 1", 2)


def test_a_refused_form_is_refused_again_until_reloaded(logged_in, appointment):
    stale = open_form(logged_in, appointment.id)
    save_elsewhere(logged_in, appointment.id)
    refused = logged_in.client.post(edit_url(appointment.id), data=stale.filled(title="Mine"))
    assert refused.status_code == 409

    # Sending the refused page's form again still carries the version it was first filled from.
    again = HTMLForm(refused.get_data(as_text=True))
    assert again.fields["version"] == "1" and again.fields["title"] == "Mine"
    assert logged_in.client.post(edit_url(appointment.id), data=again.filled()).status_code == 409
    assert stored(appointment.id).title == "Elsewhere"

    # Reloaded, the form shows the other change, and the edit made on it is saved.
    reloaded = open_form(logged_in, appointment.id)
    assert reloaded.fields["title"] == "Elsewhere" and reloaded.fields["version"] == "2"
    response = logged_in.client.post(
        edit_url(appointment.id), data=reloaded.filled(title="Mine"), follow_redirects=True
    )
    assert "Appointment “Mine” saved." in text(response)
    assert stored(appointment.id).title == "Mine"


def test_each_save_bumps_the_version(logged_in, appointment):
    for version, title in enumerate(["One", "Two", "Three"], start=1):
        form = open_form(logged_in, appointment.id)
        assert form.fields["version"] == str(version)
        response = logged_in.client.post(edit_url(appointment.id), data=form.filled(title=title))
        assert response.status_code == 302
        saved = stored(appointment.id)
        assert (saved.title, saved.version) == (title, version + 1)


def test_a_stale_form_is_refused_even_with_other_errors(logged_in, appointment):
    stale = open_form(logged_in, appointment.id)
    save_elsewhere(logged_in, appointment.id)
    refused = logged_in.client.post(edit_url(appointment.id), data=stale.filled(title=""))
    assert refused.status_code == 409
    assert CHANGED in conflict_alert(refused.get_data(as_text=True))
    assert stored(appointment.id).title == "Elsewhere"


@pytest.mark.parametrize(
    "version",
    [None, "", "two", "1.0", "0x1", "9" * 5000],
    ids=["missing", "empty", "word", "decimal", "hexadecimal", "5000 digits"],
)
def test_a_form_without_a_valid_version_is_a_bad_request(logged_in, appointment, version):
    data = open_form(logged_in, appointment.id).filled(title="Changed")
    if version is None:
        del data["version"]
    else:
        data["version"] = version
    response = logged_in.client.post(edit_url(appointment.id), data=data)
    assert response.status_code == 400
    html = text(response)
    assert NOT_MATCHED in html
    assert 'value="Changed"' in html  # the form again, as typed
    kept = stored(appointment.id)
    assert (kept.title, kept.version) == ("Dentist", 1)


def test_an_edit_racing_another_is_refused_with_the_same_answer(logged_in, appointment):
    """The other edit commits after this request checked the version, before it writes."""
    form = open_form(logged_in, appointment.id)

    def edit_elsewhere(session: Session) -> None:
        session.get(Appointment, appointment.id).title = "Changed elsewhere"

    with meanwhile(edit_elsewhere) as happened:
        refused = logged_in.client.post(edit_url(appointment.id), data=form.filled(title="Mine"))
    assert happened
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert CHANGED in conflict_alert(html)
    assert 'value="Mine"' in html
    kept = stored(appointment.id)
    assert (kept.title, kept.version) == ("Changed elsewhere", 2)


def test_the_orm_refuses_an_update_from_a_stale_version(app, appointment):
    """What the view relies on: SQLAlchemy's version counter, on this database."""
    with Session(db.engine) as mine, Session(db.engine) as theirs:
        my_copy = mine.get(Appointment, appointment.id)
        their_copy = theirs.get(Appointment, appointment.id)
        their_copy.title = "Theirs"
        theirs.commit()
        assert their_copy.version == 2

        my_copy.title = "Mine"
        with pytest.raises(StaleDataError):
            mine.commit()
    assert stored(appointment.id).title == "Theirs"


def test_the_orm_refuses_to_update_a_deleted_row(app, appointment):
    with Session(db.engine) as mine, Session(db.engine) as theirs:
        my_copy = mine.get(Appointment, appointment.id)
        theirs.delete(theirs.get(Appointment, appointment.id))
        theirs.commit()

        my_copy.title = "Mine"
        with pytest.raises(StaleDataError):
            mine.commit()
    assert stored(appointment.id) is None


# --- Deleted meanwhile ------------------------------------------------------------------------


def test_editing_a_deleted_appointment_answers_404_and_does_not_bring_it_back(
    logged_in, appointment
):
    form = open_form(logged_in, appointment.id)
    token = logged_in.token("/appointments/")
    deleted = logged_in.delete(f"/appointments/{appointment.id}/delete/", token=token)
    assert deleted.status_code == 200

    response = logged_in.client.post(edit_url(appointment.id), data=form.filled(title="Mine"))
    assert response.status_code == 404
    assert DELETED in text(response)
    assert stored(appointment.id) is None and count_appointments() == 0


def test_an_edit_racing_a_delete_answers_404_and_does_not_bring_it_back(logged_in, appointment):
    form = open_form(logged_in, appointment.id)

    def delete_elsewhere(session: Session) -> None:
        session.delete(session.get(Appointment, appointment.id))

    with meanwhile(delete_elsewhere) as happened:
        response = logged_in.client.post(edit_url(appointment.id), data=form.filled(title="Mine"))
    assert happened
    assert response.status_code == 404
    assert DELETED in text(response)
    assert count_appointments() == 0


def test_deleting_twice_answers_404_json(logged_in, appointment):
    token = logged_in.token("/appointments/")
    url = f"/appointments/{appointment.id}/delete/"
    assert logged_in.delete(url, token=token).get_json() == {"status": "OK"}
    again = logged_in.delete(url, token=token)
    assert again.status_code == 404
    assert again.get_json()["error"]["message"] == DELETED
    assert count_appointments() == 0


def test_a_delete_racing_another_delete_answers_404_json(logged_in, appointment):
    token = logged_in.token("/appointments/")

    def delete_elsewhere(session: Session) -> None:
        session.delete(session.get(Appointment, appointment.id))

    with meanwhile(delete_elsewhere) as happened:
        response = logged_in.delete(f"/appointments/{appointment.id}/delete/", token=token)
    assert happened
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == DELETED
    assert count_appointments() == 0


def test_a_delete_racing_an_edit_still_deletes(logged_in, appointment):
    """The delete carries no version: it removes the appointment whatever it has become."""
    token = logged_in.token("/appointments/")

    def edit_elsewhere(session: Session) -> None:
        session.get(Appointment, appointment.id).title = "Changed elsewhere"

    with meanwhile(edit_elsewhere) as happened:
        response = logged_in.delete(f"/appointments/{appointment.id}/delete/", token=token)
    assert happened
    assert response.get_json() == {"status": "OK"}
    assert count_appointments() == 0
