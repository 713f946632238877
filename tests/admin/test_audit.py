"""The audit log: admin changes with field-level differences, account events, the read-only view."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import flask_login
import pytest
from sqlalchemy import event, func, select

from app import create_app
from app.accounts.models import APPOINTMENTS_MANAGE, Role, User
from app.admin.base import SchedModelView
from app.audit import recording as audit
from app.audit.models import AuditEntry
from app.extensions import db
from app.scheduling.models import Appointment
from tests.accounts.test_accounts import link_in, register
from tests.support.browser import Browser
from tests.support.factories import PASSWORD, make_appointment, make_feed_token, make_user
from tests.support.zones import UTC

NINE = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
AUDIT_URL = "/admin/audit/"


def entries(**criteria) -> list[AuditEntry]:
    """Read the log afresh from the database, oldest first."""
    db.session.expire_all()
    query = select(AuditEntry).filter_by(**criteria).order_by(AuditEntry.id)
    return list(db.session.scalars(query))


def entry_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEntry))


def make_entry(**values) -> AuditEntry:
    entry = AuditEntry(**{"action": audit.UPDATE, **values})
    db.session.add(entry)
    db.session.commit()
    return entry


@pytest.fixture
def staff(app):
    return make_user("staff@example.com", roles=("staff",))


@pytest.fixture
def as_staff(app, staff):
    """A request context with the staff member logged in, as the admin panel's hooks run."""
    with app.test_request_context("/admin/", environ_base={"REMOTE_ADDR": "192.0.2.7"}):
        flask_login.login_user(staff)
        yield staff


@pytest.fixture
def staff_browser(browser, staff):
    browser.login(staff.email)
    return browser


# ---------------------------------------------------------------------------------------------
# Recording admin changes
# ---------------------------------------------------------------------------------------------


def test_update_records_only_the_changed_fields_with_old_and_new_values(as_staff, user):
    appointment = make_appointment(user, title="Dentist", start=NINE, end=NINE + timedelta(hours=1))
    appointment.title = "Dentist (moved)"
    appointment.start = NINE.astimezone(timezone(timedelta(hours=2))) + timedelta(days=1)
    appointment.end = NINE + timedelta(days=1, hours=1)
    appointment.location = ""  # unchanged: it was empty
    audit.record_change(appointment, created=False)
    db.session.commit()

    [entry] = entries()
    assert (entry.action, entry.object_type, entry.object_id, entry.object_repr) == (
        "update", "Appointment", str(appointment.id), "Dentist (moved)",
    )
    assert (entry.actor_id, entry.actor_email) == (as_staff.id, as_staff.email)
    assert entry.ip == "192.0.2.7"
    assert entry.changes == {
        "title": ["Dentist", "Dentist (moved)"],
        "start": ["2026-05-04T09:00:00+00:00", "2026-05-05T09:00:00+00:00"],
        "end": ["2026-05-04T10:00:00+00:00", "2026-05-05T10:00:00+00:00"],
    }
    assert entry.created > datetime.now(timezone.utc) - timedelta(minutes=1)


def test_an_update_that_changes_nothing_is_not_recorded(as_staff, user):
    appointment = make_appointment(user, title="Same", start=NINE, end=NINE + timedelta(hours=1))
    appointment.title = "Same"
    appointment.start = NINE.astimezone(timezone(timedelta(hours=-5)))  # the same instant
    audit.record_change(appointment, created=False)
    db.session.commit()
    assert entries() == []


def test_changing_the_owner_records_both_e_mail_addresses(as_staff, user):
    other = make_user("other@example.com")
    appointment = make_appointment(user)
    appointment.owner = other
    audit.record_change(appointment, created=False)
    db.session.commit()
    assert entries()[0].changes == {"owner": ["owner@example.com", "other@example.com"]}


def test_create_records_the_new_values_and_the_new_id(as_staff, user):
    appointment = Appointment(
        owner=user, title="Kick-off", start=NINE, end=NINE + timedelta(hours=2), location="Room 1"
    )
    db.session.add(appointment)
    audit.record_change(appointment, created=True)
    db.session.commit()

    [entry] = entries()
    assert entry.action == "create"
    assert entry.object_id == str(appointment.id) != ""
    assert entry.changes == {
        "title": ["", "Kick-off"],
        "start": ["", "2026-05-04T09:00:00+00:00"],
        "end": ["", "2026-05-04T11:00:00+00:00"],
        "all_day": ["", "False"],
        "location": ["", "Room 1"],
        "owner": ["", "owner@example.com"],
    }


def test_delete_records_the_readable_values(as_staff, user):
    appointment = make_appointment(
        user, title="Cancelled", start=NINE, end=NINE + timedelta(hours=1)
    )
    appointment_id = appointment.id
    audit.record_delete(appointment)
    db.session.delete(appointment)
    db.session.commit()

    [entry] = entries()
    assert (entry.action, entry.object_id, entry.object_repr) == (
        "delete", str(appointment_id), "Cancelled",
    )
    assert entry.changes["title"] == ["Cancelled", ""]
    assert entry.changes["owner"] == ["owner@example.com", ""]
    assert entry.changes["start"] == ["2026-05-04T09:00:00+00:00", ""]


def test_user_changes_record_role_names_and_never_secrets(as_staff, user):
    secrets_before = (user.password, user.fs_uniquifier, make_feed_token(user))
    roles = [db.session.scalar(select(Role).filter_by(name=name)) for name in ("staff", "admin")]
    assert user.roles == []  # loaded, as Flask-Admin's edit form loads it before applying the form
    user.full_name = "Olive Owner-Smith"
    user.roles = roles
    user.password = "$argon2id$not-really-a-hash"
    user.fs_uniquifier = "new-uniquifier"
    new_token = user.regenerate_calendar_token()
    user.tf_totp_secret = "totp secret"
    audit.record_change(user, created=False)
    db.session.commit()

    [entry] = entries()
    assert (entry.object_type, entry.object_repr) == ("User", "owner@example.com")
    assert entry.changes == {
        "full_name": ["Olive Owner", "Olive Owner-Smith"],
        "roles": [[], ["admin", "staff"]],
        "password": None,
        "calendar_token_hash": None,
    }
    stored = json.dumps(entry.changes)
    for secret in (
        *secrets_before, user.password, new_token, user.calendar_token_hash, "new-uniquifier",
        "totp",
    ):
        assert secret not in stored


def test_removing_a_role_lists_the_names_before_and_after(as_staff):
    person = make_user("person@example.com", roles=("staff", "translator"))
    person.roles = [role for role in person.roles if role.name == "staff"]
    audit.record_change(person, created=False)
    db.session.commit()
    assert entries()[0].changes == {"roles": [["staff", "translator"], ["staff"]]}


def test_creating_a_user_notes_the_password_without_its_value(as_staff):
    person = User(
        email="made@example.com", password="$argon2id$hash", active=True, fs_uniquifier="u-1",
        roles=[db.session.scalar(select(Role).filter_by(name="staff"))],
    )
    db.session.add(person)
    audit.record_change(person, created=True)
    db.session.commit()

    [entry] = entries()
    assert entry.changes["password"] is None
    assert entry.changes["email"] == ["", "made@example.com"]
    assert entry.changes["roles"] == ["", ["staff"]]
    stored = json.dumps(entry.changes)
    assert "$argon2id$hash" not in stored and "u-1" not in stored
    assert "calendar_token" not in stored  # a new account has no feed address


def test_object_names_are_cut_to_the_column_length(as_staff, user):
    appointment = make_appointment(user, title="x" * 255)
    appointment.title = "y" * 255
    audit.record_change(appointment, created=False)
    db.session.commit()
    assert entries()[0].object_repr == "y" * 255


class AppointmentTestView(SchedModelView):
    """A plain SchedModelView, so the hooks are tested whatever the appointment pages become."""

    write_permission = APPOINTMENTS_MANAGE
    page_size_options = (25, 50, 100)
    form_columns = ("title", "location")


@pytest.fixture
def appointment_view(app):
    admin = app.extensions["admin"][0]
    admin.add_view(AppointmentTestView(Appointment, db, endpoint="audit_test_appointments"))
    return "/admin/audit_test_appointments/"


def test_an_edit_in_a_model_view_is_in_the_log_and_its_view(appointment_view, staff_browser, user):
    appointment = make_appointment(user, title="Team meeting", location="Room 1")
    url = f"{appointment_view}edit/?id={appointment.id}"
    response = staff_browser.submit(
        url, {"title": "Team meeting <b>moved</b>", "location": "Room 2"}
    )
    assert response.status_code == 302

    [entry] = entries(action="update")
    assert entry.actor_email == "staff@example.com"
    assert entry.changes == {
        "title": ["Team meeting", "Team meeting <b>moved</b>"],
        "location": ["Room 1", "Room 2"],
    }
    page = staff_browser.get(AUDIT_URL).get_data(as_text=True)
    assert "Team meeting &lt;b&gt;moved&lt;/b&gt;" in page
    assert "<b>moved</b>" not in page
    assert re.search(r"<del>\s*Room 1\s*</del>.*?<ins>\s*Room 2\s*</ins>", page, re.S)


def test_a_delete_in_a_model_view_is_in_the_log(appointment_view, staff_browser, user):
    appointment_id = make_appointment(user, title="Doomed").id
    response = staff_browser.submit(
        f"{appointment_view}delete/", {"id": str(appointment_id)}, form_url=appointment_view
    )
    assert response.status_code == 302
    [entry] = entries(action="delete")
    assert (entry.object_id, entry.object_repr) == (str(appointment_id), "Doomed")
    assert entry.actor_email == "staff@example.com"
    assert db.session.get(Appointment, appointment_id) is None


def test_an_edit_in_the_appointment_admin_shows_in_the_log(staff_browser, user):
    appointment = make_appointment(
        user, title="Budget review", start=NINE, end=NINE + timedelta(hours=1), location="Room 1"
    )
    response = staff_browser.submit(
        f"/admin/appointments/edit/?id={appointment.id}",
        {
            "owner": str(user.id),
            "title": "Budget review",
            "start": "2026-05-04T10:00",  # the staff member's clock is on UTC
            "end": "2026-05-04T11:00",
            "location": "Room <2>",
            "description": "",
            "version": "1",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    [entry] = entries(action="update")
    assert (entry.object_type, entry.object_id) == ("Appointment", str(appointment.id))
    assert entry.changes == {
        "start": ["2026-05-04T09:00:00+00:00", "2026-05-04T10:00:00+00:00"],
        "end": ["2026-05-04T10:00:00+00:00", "2026-05-04T11:00:00+00:00"],
        "location": ["Room 1", "Room <2>"],
    }
    page = staff_browser.get(f"{AUDIT_URL}?flt0_action=update").get_data(as_text=True)
    assert "Budget review" in page
    assert re.search(r"<del>Room 1</del>.*?<ins>Room &lt;2&gt;</ins>", page, re.S)


def test_an_edit_in_the_user_admin_shows_roles_and_fields(browser, user):
    make_user("admin@example.com", roles=("admin",))
    browser.login("admin@example.com")
    response = browser.submit(
        f"/admin/users/edit/?id={user.id}",
        {
            "email": user.email,
            "full_name": "Olive Owner",
            "timezone": "Europe/Paris",
            "locale": "en",
            "roles": [str(db.session.scalar(select(Role.id).filter_by(name="staff")))],
            "active": "y",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)

    [entry] = entries(action="update")
    assert (entry.actor_email, entry.object_repr) == ("admin@example.com", user.email)
    assert entry.changes == {
        "timezone": ["Europe/Berlin", "Europe/Paris"],
        "roles": [[], ["staff"]],
    }
    page = browser.get(f"{AUDIT_URL}details/?id={entry.id}").get_data(as_text=True)
    assert re.search(r"Roles</th>.*?<ins>staff</ins>", page, re.S)


# ---------------------------------------------------------------------------------------------
# Account events
# ---------------------------------------------------------------------------------------------


def test_login_is_recorded_with_the_user_and_address(browser, user):
    browser.login(user.email)
    [entry] = entries()
    assert (entry.action, entry.actor_id, entry.actor_email) == ("login", user.id, user.email)
    assert (entry.object_type, entry.object_id, entry.ip) == ("User", str(user.id), "127.0.0.1")


def test_failed_login_is_recorded_with_the_address_tried_and_no_password(browser, user):
    response = browser.submit("/login", {"email": user.email, "password": "wrong password!"})
    assert response.status_code == 400
    [entry] = entries()
    assert (entry.action, entry.actor_id, entry.actor_email) == ("login_failed", None, "")
    assert (entry.object_type, entry.object_repr, entry.ip) == ("User", user.email, "127.0.0.1")
    assert "wrong password" not in json.dumps(entry.changes)


def test_failed_login_for_an_unknown_address_records_nothing(browser, user):
    browser.submit("/login", {"email": "nobody@example.com", "password": "wrong password!"})
    assert entries() == []


def test_password_change_is_recorded_once(logged_in, user):
    response = logged_in.submit(
        "/change",
        {
            "password": PASSWORD,
            "new_password": "another long password",
            "new_password_confirm": "another long password",
        },
    )
    assert response.status_code == 302
    assert [(e.action, e.actor_email, e.object_repr) for e in entries()] == [
        ("login", user.email, user.email),
        ("password_change", user.email, user.email),
    ]


def test_password_reset_is_recorded_with_the_e_mail_that_asked_for_it(browser, user, outbox):
    browser.submit("/reset", {"email": user.email})
    response = browser.submit(
        link_in(outbox[0], "/reset/"),
        {"password": "a brand new password", "password_confirm": "a brand new password"},
    )
    assert response.status_code == 302
    sent, reset = entries()
    # Anyone may ask for the e-mail; only its reader can reset.
    assert (sent.action, sent.actor_id) == ("password_reset_sent", None)
    assert (reset.action, reset.actor_id) == ("password_reset", user.id)
    assert sent.object_id == reset.object_id == str(user.id)


def test_sign_up_and_confirmation_are_recorded(browser, outbox):
    assert register(browser).status_code == 302
    browser.get(link_in(outbox[0], "/confirm/"))
    new = db.session.scalar(select(User).filter_by(email="new@example.com"))
    assert [(e.action, e.actor_id, e.object_id) for e in entries()] == [
        ("register", new.id, str(new.id)),
        ("confirm", new.id, str(new.id)),
    ]


def test_no_entry_ever_holds_a_secret(browser, user, outbox):
    feed_token = make_feed_token(user)
    browser.submit("/login", {"email": user.email, "password": "wrong password!"})
    browser.login(user.email)
    new_password = {
        "password": PASSWORD,
        "new_password": "another long password",
        "new_password_confirm": "another long password",
    }
    browser.submit("/change", new_password)
    browser.logout()
    browser.submit("/reset", {"email": user.email})
    reset_link = link_in(outbox[-1], "/reset/")
    browser.submit(
        reset_link, {"password": "a brand new password", "password_confirm": "a brand new password"}
    )
    db.session.refresh(user)

    log = entries()
    assert {e.action for e in log} == {
        "login_failed", "login", "password_change", "password_reset_sent", "password_reset",
    }
    text = repr([(e.actor_email, e.object_repr, json.dumps(e.changes), e.ip) for e in log])
    for secret in (
        PASSWORD, "wrong password!", "another long password", "a brand new password",
        user.password, user.fs_uniquifier, feed_token, user.calendar_token_hash,
        reset_link.rsplit("/", 1)[1],
    ):
        assert secret not in text


def test_each_app_records_its_own_events_once(app, database_url, browser, user):
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    browser.login(user.email)
    assert len(entries(action="login")) == 1, "one entry, however many apps were built"

    Browser(other.test_client()).login(user.email)
    assert len(entries(action="login")) == 2
    with other.app_context():
        db.engine.dispose()


# ---------------------------------------------------------------------------------------------
# The read-only view
# ---------------------------------------------------------------------------------------------


def test_staff_see_the_log_newest_first_with_actions_named(staff_browser, staff):
    make_entry(action="delete", object_type="Appointment", object_repr="Older")
    make_entry(action="create", object_type="Role", object_repr="Newer")
    page = staff_browser.get(AUDIT_URL).get_data(as_text=True)
    assert page.index("Newer") < page.index("Older")
    assert "Deleted" in page and "Created" in page and "Logged in" in page
    assert f'href="{AUDIT_URL}new/' not in page
    assert f'href="{AUDIT_URL}edit/' not in page
    assert f'action="{AUDIT_URL}delete/' not in page


def test_filter_by_action(staff_browser):
    make_entry(action="delete", object_repr="Gone")
    make_entry(action="create", object_repr="Born")
    page = staff_browser.get(f"{AUDIT_URL}?flt0_action=delete").get_data(as_text=True)
    assert "Gone" in page and "Born" not in page


def test_filter_by_actor_e_mail(staff_browser):
    make_entry(actor_email="alice@example.com", object_repr="By Alice")
    make_entry(actor_email="bob@example.com", object_repr="By Bob")
    page = staff_browser.get(f"{AUDIT_URL}?flt0_actor_email=alice").get_data(as_text=True)
    assert "By Alice" in page and "By Bob" not in page


def test_filter_by_object_type(staff_browser):
    make_entry(object_type="Role", object_repr="A role")
    make_entry(object_type="Appointment", object_repr="An appointment")
    page = staff_browser.get(f"{AUDIT_URL}?flt0_object_type=Role").get_data(as_text=True)
    assert "A role" in page and "An appointment" not in page


def test_filter_by_date_range_uses_the_viewers_days(browser):
    make_user("tokyo@example.com", roles=("staff",), timezone="Asia/Tokyo")
    # 2026-05-04 20:00 UTC is already the 5th in Tokyo.
    make_entry(object_repr="Late on the 4th UTC", created=datetime(2026, 5, 4, 20, tzinfo=UTC))
    make_entry(object_repr="Early on the 4th UTC", created=datetime(2026, 5, 4, 1, tzinfo=UTC))
    make_entry(object_repr="Weeks before", created=datetime(2026, 4, 1, tzinfo=timezone.utc))
    browser.login("tokyo@example.com")
    page = browser.get(f"{AUDIT_URL}?flt0_created=2026-05-05+to+2026-05-05").get_data(as_text=True)
    assert "Late on the 4th UTC" in page
    assert "Early on the 4th UTC" not in page and "Weeks before" not in page


def test_search_by_object_and_actor(staff_browser):
    make_entry(actor_email="carol@example.com", object_repr="Quarterly review")
    make_entry(actor_email="dave@example.com", object_repr="Lunch")
    page = staff_browser.get(f"{AUDIT_URL}?search=quarterly").get_data(as_text=True)
    assert "Quarterly review" in page and "Lunch" not in page
    page = staff_browser.get(f"{AUDIT_URL}?search=dave@").get_data(as_text=True)
    assert "Lunch" in page and "Quarterly review" not in page


def test_details_show_the_whole_difference_escaped(staff_browser):
    long_text = "word " * 60
    entry = make_entry(
        object_repr="<script>alert(1)</script>",
        changes={"description": ["", long_text + "<i>end</i>"], "password": None},
    )
    listing = staff_browser.get(AUDIT_URL).get_data(as_text=True)
    assert "&lt;i&gt;end" not in listing, "the list shortens long values"
    assert "<script>alert(1)</script>" not in listing
    page = staff_browser.get(f"{AUDIT_URL}details/?id={entry.id}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert long_text + "&lt;i&gt;end&lt;/i&gt;" in page
    assert "changed (not shown)" in page


def statements_to_show(browser, url: str) -> int:
    """Count the SQL statements a page needs."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert browser.get(url).status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_the_list_needs_no_query_per_row(staff_browser):
    make_entry(object_repr="Entry", actor_email="someone@example.com")
    one_row = statements_to_show(staff_browser, AUDIT_URL)
    for number in range(24):
        make_entry(object_repr=f"Entry {number}", actor_email=f"u{number}@example.com")
    assert statements_to_show(staff_browser, AUDIT_URL) == one_row


def test_filters_stay_in_links_under_the_same_name(staff_browser):
    make_entry(action="delete", object_repr="Gone")
    page = staff_browser.get(f"{AUDIT_URL}?flt0_action=delete").get_data(as_text=True)
    assert re.search(r'href="/admin/audit/\?sort=0[^"]*&amp;flt0_action=delete"', page), "sort link"


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "new/"),
        ("post", "new/"),
        ("get", "edit/?id={id}"),
        ("post", "edit/?id={id}"),
        ("post", "delete/"),
        ("post", "action/"),
    ],
)
def test_nobody_can_create_edit_or_delete_entries(browser, method, url):
    make_user("admin@example.com", roles=("admin",))
    browser.login("admin@example.com")
    entry = make_entry(object_repr="Keep me", action="delete")
    before = entry_count()
    data = {
        "csrf_token": browser.token(AUDIT_URL),
        "id": str(entry.id),
        "rowid": str(entry.id),
        "action": "delete",
        "object_repr": "Changed",
        "actor_email": "forged@example.com",
    }
    full_url = AUDIT_URL + url.format(id=entry.id)
    if method == "get":
        response = browser.client.get(full_url)
    else:
        response = browser.client.post(full_url, data=data)
    assert response.status_code in (302, 403)
    assert entry_count() == before
    assert entries(id=entry.id)[0].object_repr == "Keep me"


def test_a_plain_user_is_refused(logged_in):
    assert logged_in.get(AUDIT_URL).status_code == 403


def test_a_visitor_is_sent_to_log_in(client):
    response = client.get(AUDIT_URL)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


def test_the_dashboard_shows_the_latest_entries(staff_browser):
    make_entry(action="delete", object_type="Appointment", object_repr="Board meeting",
               actor_email="boss@example.com")
    page = staff_browser.get("/admin/").get_data(as_text=True)
    latest = page.split('id="latest-audit"', 1)[1]
    assert "Board meeting" in latest and "boss@example.com" in latest
    assert "staff@example.com" in latest  # the staff member's own login


def test_templates_can_name_actions_in_the_viewers_language(app):
    with app.test_request_context():
        rendered = app.jinja_env.from_string("{{ 'login_failed'|audit_action }}").render()
    assert rendered == "Failed login"
