"""The admin panel's users and roles, through HTTP as admins and staff use them."""

from __future__ import annotations

import csv
import html
import io
import logging
import re

import pytest
from sqlalchemy import event, select

from app.accounts.models import ROLES_MANAGE, USERS_MANAGE, Role, User
from app.extensions import db
from app.scheduling.models import Appointment
from tests.support.browser import Browser, text
from tests.support.concurrent import meanwhile
from tests.support.factories import PASSWORD, make_appointment, make_feed_token, make_user
from tests.support.queries import find_user, fresh

USERS = "/admin/users/"
ROLES = "/admin/roles/"
ACTIONS = "/admin/users/action/"
NEW_PASSWORD = "a brand new password"
ROW_RE = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL_RE = re.compile(r'<td class="col-(\w+)">\s*(.*?)\s*</td>', re.S)


@pytest.fixture
def admin(app, browser):
    user = make_user("ada@example.com", full_name="Ada Admin", roles=("admin",))
    browser.login(user.email)
    return user


@pytest.fixture
def staff_browser(app, browser):
    make_user("sam@example.com", full_name="Sam Staff", roles=("staff",))
    browser.login("sam@example.com")
    return browser


def another_browser(app) -> Browser:
    return Browser(app.test_client())


def role_id(name: str) -> str:
    return str(db.session.scalar(select(Role.id).where(Role.name == name)))


def plain(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def list_rows(response) -> dict[str, dict[str, str]]:
    """Return the list page's rows by e-mail address: {column: cell text}."""
    rows = {}
    for row in ROW_RE.findall(response.get_data(as_text=True)):
        cells = {name: plain(value) for name, value in CELL_RE.findall(row)}
        if "email" in cells:
            rows[cells["email"]] = cells
    return rows


def field_errors(response, field: str) -> str:
    """Return the errors shown under a form field."""
    page = text(response)
    start = page.index(f'id="{field}"')
    group = page[start : page.index('class="form-group', start)]
    feedback = re.search(r'class="invalid-feedback">(.*?)</div>', group, re.S)
    return re.sub(r"<[^>]+>|\s+", " ", feedback.group(1)) if feedback else ""


def edit_data(user: User, **changes) -> dict:
    """The edit form as the browser would send it, with ``changes``."""
    data = {
        "email": user.email,
        "full_name": user.full_name,
        "timezone": user.timezone,
        "locale": user.locale,
        "roles": [str(role.id) for role in user.roles],
        "active": "y" if user.active else None,
        **changes,
    }
    return {name: value for name, value in data.items() if value is not None}


def act(browser, action: str, *users: User, confirmed: str | None = None, **kwargs):
    data = {"action": action, "rowid": [str(user.id) for user in users], "url": USERS}
    if confirmed is not None:  # the bulk delete's confirmation page answered
        data["confirmed"] = confirmed
    return browser.submit(ACTIONS, data, form_url=USERS, **kwargs)


def delete_user(browser, user: User, **kwargs):
    data = {"id": str(user.id), "url": USERS}
    return browser.submit(f"{USERS}delete/", data, form_url=USERS, **kwargs)


def delete_role(browser, role: str, **kwargs):
    data = {"id": role, "url": ROLES}
    return browser.submit(f"{ROLES}delete/", data, form_url=ROLES, **kwargs)


def create_form(**changes) -> dict:
    return {
        "email": "nora@example.com",
        "full_name": "Nora New",
        "password": NEW_PASSWORD,
        "timezone": "Europe/Paris",
        "locale": "fr",
        "roles": [role_id("staff")],
        "active": "y",
        **changes,
    }


def is_logged_in(browser) -> bool:
    response = browser.get("/appointments/")
    return response.status_code == 200


# ---------------------------------------------------------------------------------------------
# The list, details and export
# ---------------------------------------------------------------------------------------------


def test_list_shows_users_with_roles_last_login_and_appointment_counts(browser, admin):
    owner = make_user("olive@example.com", full_name="Olive Owner", roles=("staff", "translator"))
    for _ in range(3):
        make_appointment(owner)
    make_user("ivan@example.com", confirmed=False).active = False
    db.session.commit()

    rows = list_rows(browser.get(USERS))

    assert list(rows) == ["ada@example.com", "ivan@example.com", "olive@example.com"]
    olive = rows["olive@example.com"]
    assert olive["full_name"] == "Olive Owner"
    assert olive["roles"] == "staff, translator"
    assert olive["appointment_count"] == "3"
    assert olive["confirmed_at"] != "" and olive["current_login_at"] == ""
    assert rows["ada@example.com"]["current_login_at"] != "", "the admin has logged in"
    assert rows["ada@example.com"]["appointment_count"] == "0"
    assert rows["ivan@example.com"]["confirmed_at"] == ""
    assert 'title="active: false"' in browser.get(USERS).get_data(as_text=True)


def test_list_costs_the_same_queries_for_few_or_many_users(app, browser, admin):
    """Roles and appointment counts come with the page, not one query per row."""
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    def queries_for_list_page() -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert browser.get(USERS).status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements)

    make_appointment(make_user(roles=("staff",)))
    few = queries_for_list_page()
    for _ in range(6):
        make_appointment(make_user(roles=("staff", "translator")))
    many = queries_for_list_page()

    assert len(list_rows(browser.get(USERS))) == 8
    assert many == few


def test_secrets_never_appear_in_list_details_export_or_forms(browser, admin):
    user = make_user("olive@example.com", tf_totp_secret="TOTPSECRET", us_totp_secrets="USSECRETS")
    feed_token = make_feed_token(user)
    secrets = [
        user.password, user.fs_uniquifier, feed_token, user.calendar_token_hash, "TOTPSECRET",
        "USSECRETS",
    ]
    pages = {
        "list": browser.get(USERS),
        "details": browser.get(f"{USERS}details/?id={user.id}"),
        "export": browser.get(f"{USERS}export/csv/", buffered=True),
        "edit": browser.get(f"{USERS}edit/?id={user.id}"),
        "create": browser.get(f"{USERS}new/"),
    }
    for page, response in pages.items():
        assert response.status_code == 200, page
        body = response.get_data(as_text=True)
        assert "olive@example.com" in body or page == "create", page
        for secret in secrets:
            assert secret not in body, (page, secret)
        for column in ("fs_uniquifier", "calendar_token", "tf_totp_secret", "us_totp_secrets"):
            assert column not in body, (page, column)
    # The create form has a password field for the new password, and only that one.
    assert pages["edit"].get_data(as_text=True).count('type="password"') == 0
    assert pages["create"].get_data(as_text=True).count('type="password"') == 1


def test_export_is_a_csv_of_the_listed_columns(browser, admin):
    owner = make_user("olive@example.com", full_name="Olive Owner", roles=("staff",))
    make_appointment(owner)

    response = browser.get(f"{USERS}export/csv/?search=olive", buffered=True)

    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 1
    row = rows[0]
    assert (row["E-mail address"], row["Name"], row["Roles"]) == (
        "olive@example.com",
        "Olive Owner",
        "staff",
    )
    assert (row["Active"], row["Appointments"], row["Time zone"]) == ("True", "1", "UTC")
    assert row["Confirmed"].endswith("+00:00") and row["Last login"] == ""


@pytest.mark.parametrize("name", [
    '=HYPERLINK("http://127.0.0.1:9/","Click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)",
    "\t=1+1",
])
def test_a_name_a_spreadsheet_would_run_is_exported_as_text(browser, admin, name):
    make_user("formula@example.com", full_name=name)
    response = browser.get(f"{USERS}export/csv/?search=formula", buffered=True)
    [row] = csv.DictReader(io.StringIO(response.get_data(as_text=True)))
    assert row["Name"] == f"'{name}"
    assert row["E-mail address"] == "formula@example.com"


def test_details_show_the_account_in_readable_terms(browser, admin):
    user = make_user("olive@example.com", full_name="Olive", locale="de", timezone="Europe/Berlin")
    make_appointment(user)

    page = text(browser.get(f"{USERS}details/?id={user.id}"))

    for shown in ("Olive", "Deutsch", "Europe/Berlin", "Appointments"):
        assert shown in page


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("olive", {"olive@example.com"}),
        ("Owner", {"olive@example.com", "otto@example.com"}),
        ("EXAMPLE.ORG", {"ivy@example.org"}),
        ("nobody", set()),
    ],
)
def test_search_by_email_and_name(browser, admin, search, found):
    make_user("olive@example.com", full_name="Olive Owner")
    make_user("otto@example.com", full_name="Otto Owner")
    make_user("ivy@example.org", full_name="Ivy")

    rows = list_rows(browser.get(USERS, query_string={"search": search}))

    assert set(rows) == found


# Filters are numbered as UserAdmin.column_filters lists them: active, confirmed, role.
@pytest.mark.parametrize(
    ("filters", "found"),
    [
        ({"flt0_0": "1"}, {"ada@example.com", "olive@example.com", "uma@example.com"}),
        ({"flt0_0": "0"}, {"ivan@example.com"}),
        ({"flt0_1": "1"}, {"ada@example.com", "olive@example.com", "ivan@example.com"}),
        ({"flt0_1": "0"}, {"uma@example.com"}),
        ({"flt0_2": "staff"}, {"olive@example.com", "ivan@example.com"}),
        ({"flt0_2": "admin"}, {"ada@example.com"}),
        ({"flt0_2": "staff", "flt1_0": "1"}, {"olive@example.com"}),
    ],
)
def test_filters_by_active_confirmed_and_role(browser, admin, filters, found):
    make_user("olive@example.com", roles=("staff",))
    make_user("uma@example.com", confirmed=False)
    make_user("ivan@example.com", roles=("staff",)).active = False
    db.session.commit()

    rows = list_rows(browser.get(USERS, query_string=filters))

    assert set(rows) == found


def test_role_filter_offers_the_roles_in_the_database(browser, admin):
    db.session.add(Role(name="auditor", permissions=[]))
    db.session.commit()

    page = browser.get(USERS).get_data(as_text=True)

    filters = re.search(r'id="filter-groups-data"[^>]*>(.*?)</div>', page).group(1)
    assert '["auditor", "auditor"]' in html.unescape(filters)


# ---------------------------------------------------------------------------------------------
# Creating
# ---------------------------------------------------------------------------------------------


def test_create_user_hashes_the_password_and_the_user_can_log_in_at_once(app, browser, admin):
    form = browser.get(f"{USERS}new/")
    assert "counts as confirmed" in text(form)

    response = browser.submit(f"{USERS}new/", create_form())

    assert response.status_code == 302
    user = find_user("nora@example.com")
    assert (user.full_name, user.timezone, user.locale) == ("Nora New", "Europe/Paris", "fr")
    assert [role.name for role in user.roles] == ["staff"]
    assert user.active and user.confirmed_at is not None
    assert user.password.startswith("$argon2id$")
    assert NEW_PASSWORD not in user.password
    assert user.fs_uniquifier and user.calendar_token_hash is None  # a feed address when asked
    another_browser(app).login("nora@example.com", NEW_PASSWORD)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"password": "too short"}, "password", "at least 12 characters"),
        ({"password": ""}, "password", "This field is required."),
        ({"email": "not-an-address"}, "email", "Invalid email address"),
        ({"email": "ADA@example.com"}, "email", "already has an account"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "Not a valid choice"),
        ({"roles": ["999"]}, "roles", "Not a valid choice"),
    ],
)
def test_create_user_with_bad_input_shows_the_field_error_and_creates_nobody(
    browser, admin, changes, field, message
):
    before = db.session.scalar(select(db.func.count()).select_from(User))

    response = browser.submit(f"{USERS}new/", create_form(**changes))

    assert response.status_code == 400
    assert message in field_errors(response, field)
    db.session.expire_all()
    assert db.session.scalar(select(db.func.count()).select_from(User)) == before
    assert find_user("nora@example.com") is None


# ---------------------------------------------------------------------------------------------
# Editing
# ---------------------------------------------------------------------------------------------


def test_edit_name_roles_and_active_keeps_the_password(browser, admin):
    user = make_user("olive@example.com", full_name="Olive", roles=("staff",))
    password_hash = user.password

    response = browser.submit(
        f"{USERS}edit/?id={user.id}",
        edit_data(user, full_name="Olive Owner", roles=[role_id("translator")], active=None),
    )

    assert response.status_code == 302
    user = fresh(user)
    assert user.full_name == "Olive Owner"
    assert [role.name for role in user.roles] == ["translator"]
    assert not user.active
    assert user.password == password_hash


def test_edit_email_must_stay_unique(browser, admin):
    user = make_user("olive@example.com")

    taken = browser.submit(f"{USERS}edit/?id={user.id}", edit_data(user, email="ada@example.com"))
    same = browser.submit(f"{USERS}edit/?id={user.id}", edit_data(user, full_name="Olive"))

    assert "ada@example.com already has an account." in field_errors(taken, "email")
    assert same.status_code == 302
    assert fresh(user).email == "olive@example.com" and fresh(user).full_name == "Olive"


def test_deactivating_in_the_edit_form_ends_the_users_sessions(app, browser, admin):
    user = make_user("olive@example.com")
    theirs = another_browser(app)
    theirs.login(user.email)
    uniquifier = user.fs_uniquifier

    browser.submit(f"{USERS}edit/?id={user.id}", edit_data(user, active=None))

    assert not fresh(user).active and fresh(user).fs_uniquifier != uniquifier
    assert not is_logged_in(theirs)


# ---------------------------------------------------------------------------------------------
# Actions
# ---------------------------------------------------------------------------------------------


def test_deactivate_action_ends_sessions_and_refuses_logins(app, browser, admin):
    olive, otto = make_user("olive@example.com"), make_user("otto@example.com")
    theirs = another_browser(app)
    theirs.login(olive.email)
    assert is_logged_in(theirs)

    response = act(browser, "deactivate", olive, otto, follow_redirects=True)

    assert "2 users were deactivated." in text(response)
    assert not fresh(olive).active and not fresh(otto).active
    assert not is_logged_in(theirs)
    refused = theirs.submit("/login", {"email": olive.email, "password": PASSWORD})
    # Refused with the answer anyone gets, which does not tell that the account exists.
    assert refused.status_code == 400 and "Authentication failed" in text(refused)
    assert not is_logged_in(theirs)

    # Active again, the old session stays ended: it belonged to the old uniquifier.
    act(browser, "activate", olive)
    assert fresh(olive).active
    assert not is_logged_in(theirs)
    theirs.login(olive.email)


def test_activate_action(browser, admin):
    olive = make_user("olive@example.com")
    olive.active = False
    db.session.commit()

    response = act(browser, "activate", olive, follow_redirects=True)

    assert "1 user was activated." in text(response)
    assert fresh(olive).active


def test_send_password_reset_action_mails_the_active_users(browser, admin, outbox):
    olive, ivan = make_user("olive@example.com"), make_user("ivan@example.com")
    ivan.active = False
    db.session.commit()

    response = act(browser, "send_password_reset", olive, ivan, follow_redirects=True)

    page = text(response)
    assert "A password reset e-mail was sent to 1 user." in page
    assert "1 inactive user was skipped" in page
    assert [message.to for message in outbox] == [["olive@example.com"]]
    assert "/reset/" in outbox[0].body


def test_a_password_reset_e_mail_is_in_the_recipients_language(browser, admin, outbox):
    dora = make_user("dora@example.com", locale="de")
    act(browser, "send_password_reset", dora, follow_redirects=True)
    (message,) = outbox
    assert "Passwort" in message.subject + message.body  # Flask-Security's German e-mail


def test_actions_confirm_in_the_viewers_language(browser, admin):
    page = text(browser.get(USERS))

    assert "Deactivate the selected users?" in page
    assert "Send password reset e-mail" in page


# ---------------------------------------------------------------------------------------------
# Admins cannot lock themselves out
# ---------------------------------------------------------------------------------------------


def test_admin_cannot_deactivate_self_by_action(browser, admin):
    olive = make_user("olive@example.com")

    response = act(browser, "deactivate", admin, olive, follow_redirects=True)

    assert "You cannot deactivate your own account." in text(response)
    assert fresh(admin).active and fresh(olive).active, "nothing changed"
    assert is_logged_in(browser)


def test_admin_cannot_deactivate_self_in_the_edit_form(browser, admin):
    response = browser.submit(f"{USERS}edit/?id={admin.id}", edit_data(admin, active=None))

    assert response.status_code == 400
    assert "You cannot deactivate your own account." in field_errors(response, "active")
    assert fresh(admin).active
    assert is_logged_in(browser)


@pytest.mark.parametrize("roles", [[], ["staff"], ["staff", "translator"]])
def test_admin_cannot_drop_own_admin_role(browser, admin, roles):
    response = browser.submit(
        f"{USERS}edit/?id={admin.id}",
        edit_data(admin, full_name="Changed", roles=[role_id(name) for name in roles]),
    )

    assert response.status_code == 400
    assert "You cannot take away your own admin role." in field_errors(response, "roles")
    admin = fresh(admin)
    assert [role.name for role in admin.roles] == ["admin"] and admin.full_name == "Ada Admin"


def test_admin_can_change_own_name_and_add_roles(browser, admin):
    response = browser.submit(
        f"{USERS}edit/?id={admin.id}",
        edit_data(admin, full_name="Ada A.", roles=[role_id("admin"), role_id("staff")]),
    )

    assert response.status_code == 302
    admin = fresh(admin)
    assert admin.full_name == "Ada A." and {r.name for r in admin.roles} == {"admin", "staff"}


def test_admin_cannot_delete_own_account(browser, admin):
    delete = delete_user(browser, admin, follow_redirects=True)
    action = act(browser, "delete", admin, confirmed="1", follow_redirects=True)

    assert "You cannot delete your own account." in text(delete)
    assert "You cannot delete your own account." in text(action)
    assert fresh(admin) is not None


def test_delete_user_deletes_their_appointments(browser, admin):
    olive = make_user("olive@example.com", roles=("staff",))
    make_appointment(olive)
    kept = make_appointment(admin)

    response = delete_user(browser, olive)

    assert response.status_code == 302
    assert find_user("olive@example.com") is None
    db.session.expire_all()
    assert db.session.scalars(select(Appointment.id)).all() == [kept.id]


# ---------------------------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------------------------


def test_staff_read_users_but_change_nothing(app, staff_browser, outbox):
    browser = staff_browser
    olive = make_user("olive@example.com", full_name="Olive", roles=("translator",))
    make_appointment(olive)

    listed = browser.get(USERS)
    assert listed.status_code == 200
    rows = list_rows(listed)
    assert rows["olive@example.com"]["appointment_count"] == "1"
    page = listed.get_data(as_text=True)
    assert f"{USERS}new/" not in page and f"{USERS}edit/" not in page
    assert "action_form" not in page, "no actions for readers"
    assert "export/csv" not in page
    assert browser.get(f"{USERS}details/?id={olive.id}").status_code == 200

    token = browser.token(USERS)
    attempts = [
        (f"{USERS}new/", create_form()),
        (f"{USERS}edit/?id={olive.id}", edit_data(olive, full_name="Hacked", active=None)),
        (f"{USERS}delete/", {"id": str(olive.id)}),
        *(
            (ACTIONS, {"action": name, "rowid": [str(olive.id)]})
            for name in ("deactivate", "activate", "send_password_reset", "delete")
        ),
    ]
    for url, data in attempts:
        response = browser.client.post(url, data={"csrf_token": token, **data})
        assert response.status_code in (302, 403), url
    for url in (f"{USERS}new/", f"{USERS}edit/?id={olive.id}", f"{USERS}export/csv/"):
        assert browser.get(url).status_code in (302, 403), url

    olive = fresh(olive)
    assert olive.full_name == "Olive" and olive.active
    assert find_user("nora@example.com") is None
    assert outbox == []


def test_staff_cannot_see_roles(staff_browser):
    assert staff_browser.get(ROLES).status_code == 403
    assert staff_browser.get(f"{ROLES}edit/?id=1").status_code == 403
    assert 'href="/admin/roles/"' not in staff_browser.get(USERS).get_data(as_text=True)


@pytest.mark.parametrize("url", [USERS, f"{USERS}new/", f"{USERS}details/?id=1", ROLES])
def test_plain_user_gets_403(browser, url):
    make_user("uma@example.com", roles=("translator",))
    browser.login("uma@example.com")

    assert browser.get(url).status_code == 403


@pytest.mark.parametrize("url", [USERS, f"{USERS}new/", ROLES])
def test_anonymous_is_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# ---------------------------------------------------------------------------------------------
# Roles
# ---------------------------------------------------------------------------------------------


def test_roles_list_shows_permissions(browser, admin):
    rows = {
        cells["name"]: cells
        for row in ROW_RE.findall(browser.get(ROLES).get_data(as_text=True))
        if "name" in (cells := dict(CELL_RE.findall(row)))
    }

    assert set(rows) == {"admin", "staff", "translator"}
    assert "users-read" in rows["staff"]["permissions"]
    assert "users-manage" not in rows["staff"]["permissions"]


def test_admin_edits_a_roles_permissions_from_the_known_names(browser, admin):
    translator = role_id("translator")

    response = browser.submit(
        f"{ROLES}edit/?id={translator}",
        {
            "name": "translator",
            "description": "Catalogs",
            "permissions": ["admin-panel", "audit-read"],
        },
    )
    unknown = browser.submit(
        f"{ROLES}edit/?id={translator}", {"name": "translator", "permissions": ["launch-missiles"]}
    )

    assert response.status_code == 302
    assert "'launch-missiles' is not a valid choice" in field_errors(unknown, "permissions")
    db.session.expire_all()
    role = db.session.get(Role, int(translator))
    assert role.description == "Catalogs" and role.permissions == ["admin-panel", "audit-read"]


def test_admin_creates_a_role_with_a_unique_name(browser, admin):
    created = browser.submit(f"{ROLES}new/", {"name": "auditor", "permissions": ["audit-read"]})
    taken = browser.submit(f"{ROLES}new/", {"name": "staff"})

    assert created.status_code == 302
    assert "There is already a role named staff." in field_errors(taken, "name")
    db.session.expire_all()
    assert db.session.scalar(select(Role).filter_by(name="auditor")).permissions == ["audit-read"]


@pytest.mark.parametrize("dropped", [USERS_MANAGE, ROLES_MANAGE])
def test_admin_cannot_take_own_rights_from_own_role(browser, admin, dropped):
    role = db.session.scalar(select(Role).filter_by(name="admin"))
    permissions = [p for p in role.permissions if p != dropped]

    response = browser.submit(
        f"{ROLES}edit/?id={role.id}", {"name": "admin", "permissions": permissions}
    )

    assert response.status_code == 400
    assert "You cannot take away your own admin rights." in field_errors(response, "permissions")
    db.session.expire_all()
    assert dropped in db.session.get(Role, role.id).permissions


def test_admin_cannot_delete_the_role_their_rights_depend_on(browser, admin):
    admin_role = role_id("admin")
    translator = role_id("translator")

    refused = delete_role(browser, admin_role, follow_redirects=True)
    deleted = delete_role(browser, translator)

    assert "You cannot delete a role that your own admin rights depend on." in text(refused)
    assert deleted.status_code == 302
    db.session.expire_all()
    assert db.session.get(Role, int(admin_role)) is not None
    assert db.session.get(Role, int(translator)) is None


def test_an_address_taken_meanwhile_refuses_the_new_user_and_shows_no_sql(
    app, browser, admin, caplog
):
    """Another admin (or a sign-up) takes the address between the form's check and the save:
    the database refuses the duplicate; the page says so in words, never with the statement
    (whose parameters hold the new password's hash)."""

    def take_the_address(session) -> None:
        session.add(User(email="nora@example.com", fs_uniquifier="taken-meanwhile", active=True))

    with meanwhile(take_the_address) as done, caplog.at_level(logging.WARNING):
        response = browser.submit(f"{USERS}new/", create_form())

    assert done
    assert response.status_code == 409
    page = text(response)
    assert "saved meanwhile" in page
    for leak in ("INSERT", "IntegrityError", "argon2", "UNIQUE", "duplicate key"):
        assert leak not in page
    assert "$argon2" not in caplog.text and NEW_PASSWORD not in caplog.text
    assert find_user("nora@example.com").fs_uniquifier == "taken-meanwhile"  # only theirs
    # The form keeps what was typed, to try again with another address.
    assert 'value="Nora New"' in response.get_data(as_text=True)
