"""Sessions end on the server: a copied session cookie dies with logout, a password change or
reset, an expired or tampered session id, and an admin deactivating the account.

"Browsers" are test clients with cookie jars of their own; copying cookies from one to another
is what someone who stole them would do.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import pytest
from flask_login.utils import encode_cookie
from sqlalchemy import event, select, update

from app.accounts.models import User, UserSession
from app.extensions import db
from tests.accounts.test_accounts import link_in
from tests.support.browser import Browser
from tests.support.factories import PASSWORD, make_user
from tests.support.queries import count_appointments

NEW_PASSWORD = "another long password"
REMEMBER_COOKIE = "remember_token"  # Flask-Login's default name


def new_browser(app) -> Browser:
    return Browser(app.test_client())


def copy_cookies(source: Browser, target: Browser, app, persistent_only: bool = False) -> None:
    """Put ``source``'s login cookies into ``target``'s jar; optionally only those that would
    outlive closing the browser (the ones with an expiry)."""
    for name in (app.config["SESSION_COOKIE_NAME"], REMEMBER_COOKIE):
        cookie = source.client.get_cookie(name)
        if cookie is not None and (cookie.expires is not None or not persistent_only):
            target.client.set_cookie(name, cookie.value)


def is_logged_in(browser: Browser) -> bool:
    """Open the appointments: the list when logged in, else the login page as for a visitor."""
    response = browser.get("/appointments/")
    if response.status_code == 302:
        assert "/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def session_rows(user: User) -> list[UserSession]:
    db.session.expire_all()
    return db.session.scalars(select(UserSession).where(UserSession.user_id == user.id)).all()


def session_id_of(browser: Browser, app) -> str | None:
    """The session id inside a browser's (signed) session cookie."""
    cookie = browser.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    data = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    return data.get("sid")


def change_password(browser: Browser):
    return browser.submit(
        "/change",
        {"password": PASSWORD, "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD},
    )


# ---------------------------------------------------------------------------------------------
# Logging out
# ---------------------------------------------------------------------------------------------


def test_a_cookie_copied_before_logout_no_longer_works_after_it(app, logged_in, user):
    thief = new_browser(app)
    copy_cookies(logged_in, thief, app)
    assert is_logged_in(thief)
    assert len(session_rows(user)) == 1

    assert logged_in.logout().status_code == 302

    assert not is_logged_in(thief)
    assert not is_logged_in(logged_in)
    assert session_rows(user) == []
    # The copy is not half alive either: pages that need a login send it there too.
    assert thief.get("/account/").status_code == 302


def test_the_server_keeps_only_a_hash_of_each_session_id(app, browser, user):
    browser.login(user.email)
    session_id = session_id_of(browser, app)
    assert session_id and len(session_id) >= 40
    [row] = session_rows(user)
    assert row.id == hashlib.sha256(session_id.encode()).hexdigest() != session_id


def test_each_login_is_a_session_of_its_own_and_logging_out_ends_only_that_one(app, user):
    laptop, phone = new_browser(app), new_browser(app)
    laptop.login(user.email)
    phone.login(user.email)
    assert len(session_rows(user)) == 2

    laptop.logout()

    assert not is_logged_in(laptop)
    assert is_logged_in(phone)
    assert len(session_rows(user)) == 1


# ---------------------------------------------------------------------------------------------
# Password change and reset
# ---------------------------------------------------------------------------------------------


def test_changing_the_password_ends_the_users_other_sessions_but_not_this_one(app, user):
    here, elsewhere = new_browser(app), new_browser(app)
    here.login(user.email)
    elsewhere.login(user.email)
    copy_of_here = new_browser(app)
    copy_cookies(here, copy_of_here, app)

    assert change_password(here).status_code == 302

    assert is_logged_in(here)
    assert not is_logged_in(elsewhere)
    assert not is_logged_in(copy_of_here), "the change gives this session a new id too"
    assert len(session_rows(user)) == 1
    elsewhere.login(user.email, NEW_PASSWORD)


def test_resetting_the_password_ends_every_session(app, user, outbox):
    laptop, phone, forgetful = new_browser(app), new_browser(app), new_browser(app)
    laptop.login(user.email)
    phone.login(user.email)

    forgetful.submit("/reset", {"email": user.email})
    reset_url = link_in(outbox[-1], "/reset/")
    response = forgetful.submit(
        reset_url, {"password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD}
    )
    assert response.status_code == 302

    assert not is_logged_in(laptop)
    assert not is_logged_in(phone)
    assert not is_logged_in(forgetful)
    assert session_rows(user) == []
    laptop.login(user.email, NEW_PASSWORD)


def test_changing_a_password_from_the_command_line_ends_every_session(app, logged_in, user):
    result = app.test_cli_runner().invoke(
        args=["users", "change_password", user.email, "--password", NEW_PASSWORD]
    )
    assert result.exit_code == 0, result.output

    assert not is_logged_in(logged_in)
    assert session_rows(user) == []


# ---------------------------------------------------------------------------------------------
# Remember me
# ---------------------------------------------------------------------------------------------


def log_in_remembered(browser: Browser, email: str):
    response = browser.submit("/login", {"email": email, "password": PASSWORD, "remember": "y"})
    assert response.status_code == 302
    return response


def test_remember_me_is_a_permanent_session_cookie_that_still_dies_on_logout(app, browser, user):
    log_in_remembered(browser, user.email)

    session_cookie = browser.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    lifetime = app.permanent_session_lifetime
    expected = datetime.now(timezone.utc) + lifetime
    assert abs(session_cookie.expires - expected) < timedelta(minutes=1)
    assert browser.client.get_cookie(REMEMBER_COOKIE) is None, "no cookie of its own to revoke"

    # Closing the browser keeps the cookies that have an expiry: the login survives.
    reopened = new_browser(app)
    copy_cookies(browser, reopened, app, persistent_only=True)
    assert is_logged_in(reopened)

    browser.logout()

    assert not is_logged_in(reopened)
    assert session_rows(user) == []


def test_without_remember_me_closing_the_browser_ends_the_login(app, logged_in):
    session_cookie = logged_in.client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert session_cookie.expires is None
    reopened = new_browser(app)
    copy_cookies(logged_in, reopened, app, persistent_only=True)
    assert not is_logged_in(reopened)


def test_a_remembered_session_stays_remembered_after_a_password_change(app, browser, user):
    log_in_remembered(browser, user.email)
    change_password(browser)

    reopened = new_browser(app)
    copy_cookies(browser, reopened, app, persistent_only=True)
    assert is_logged_in(reopened)


def test_a_remember_cookie_from_before_is_refused_and_deleted(app, browser, user):
    """Flask-Login would log its holder in with no session row to end; it is not honoured."""
    with app.test_request_context():
        old_cookie = encode_cookie(user.fs_uniquifier)
    browser.client.set_cookie(REMEMBER_COOKIE, old_cookie)

    response = browser.get("/appointments/")

    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert browser.client.get_cookie(REMEMBER_COOKIE) is None
    assert session_rows(user) == []


# ---------------------------------------------------------------------------------------------
# Session ids that do not check out
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("session_id", ["made-up", None, "another user's"])
def test_a_session_without_its_row_is_logged_out(app, logged_in, user, session_id):
    if session_id == "another user's":
        other = new_browser(app)
        other.login(make_user("otto@example.com").email)
        session_id = session_id_of(other, app)
    with logged_in.client.session_transaction() as cookie_session:
        if session_id is None:
            del cookie_session["sid"]
        else:
            cookie_session["sid"] = session_id

    assert not is_logged_in(logged_in)
    # Once logged out, it stays so: the login is gone from the cookie.
    with logged_in.client.session_transaction() as cookie_session:
        assert "_user_id" not in cookie_session and "sid" not in cookie_session
    logged_in.login(user.email)


def test_a_session_older_than_its_lifetime_is_logged_out_and_removed_at_the_next_login(
    app, logged_in, user
):
    lifetime = app.permanent_session_lifetime
    long_ago = datetime.now(timezone.utc) - lifetime - timedelta(minutes=1)
    db.session.execute(update(UserSession).values(created_at=long_ago))
    db.session.commit()

    assert not is_logged_in(logged_in)

    new_browser(app).login(user.email)
    [row] = session_rows(user)
    assert row.created_at > long_ago + lifetime


# ---------------------------------------------------------------------------------------------
# Admins ending someone's sessions
# ---------------------------------------------------------------------------------------------


def test_an_admin_deactivating_a_user_ends_their_sessions(app, browser, user):
    browser.login(make_user("ada@example.com", roles=("admin",)).email)
    theirs = new_browser(app)
    theirs.login(user.email)

    response = browser.submit(
        "/admin/users/action/",
        {"action": "deactivate", "rowid": [str(user.id)], "url": "/admin/users/"},
        form_url="/admin/users/",
    )
    assert response.status_code == 302

    assert not is_logged_in(theirs)
    assert session_rows(user) == []
    assert is_logged_in(browser), "the admin's own session goes on"


# ---------------------------------------------------------------------------------------------
# Cost
# ---------------------------------------------------------------------------------------------


def test_a_logged_in_page_checks_its_session_with_one_lookup_and_writes_nothing(logged_in):
    logged_in.get("/account/")  # anything a first request might still set up
    statements: list[str] = []

    def record(conn, cursor, statement, *args):
        statements.append(" ".join(statement.split()).upper())

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert logged_in.get("/account/").status_code == 200
    finally:
        event.remove(db.engine, "before_cursor_execute", record)

    session_checks = [s for s in statements if "USER_SESSION" in s]
    assert len(session_checks) == 1
    assert session_checks[0].startswith("SELECT")
    assert "WHERE USER_SESSION.ID =" in session_checks[0]
    writes = [s for s in statements if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes == []


def test_purging_deletes_every_expired_session_and_keeps_the_live_ones(app, user):
    """Also those of users who never log in again (whose rows a login would have cleared)."""
    other = make_user("gone@example.com")
    lifetime = app.permanent_session_lifetime
    now = datetime.now(timezone.utc)
    db.session.add_all([
        UserSession(id="a" * 64, user_id=user.id, created_at=now - lifetime - timedelta(hours=1)),
        UserSession(id="b" * 64, user_id=other.id, created_at=now - lifetime * 3),
        UserSession(id="c" * 64, user_id=other.id, created_at=now - lifetime + timedelta(hours=1)),
        UserSession(id="d" * 64, user_id=user.id),
    ])
    db.session.commit()

    result = app.test_cli_runner().invoke(args=["purge-sessions"])

    assert result.exit_code == 0 and result.output == "2 expired sessions deleted.\n"
    db.session.expire_all()
    assert sorted(db.session.scalars(select(UserSession.id))) == ["c" * 64, "d" * 64]
    again = app.test_cli_runner().invoke(args=["purge-sessions"])
    assert again.output == "0 expired sessions deleted.\n"


def test_a_csrf_token_from_before_the_login_does_not_act_after_it(browser, user):
    """A token minted for the anonymous visitor (seen by a page that fixed the session, say)
    is worthless once the user logs in: the login starts a new one."""
    from tests.support.factories import appointment_form

    before = browser.token("/login")
    browser.login(user.email)
    stale = browser.client.post("/appointments/create/", data={"csrf_token": before,
                                                               **appointment_form()})
    assert stale.status_code == 400
    assert count_appointments() == 0
    fresh = browser.submit("/appointments/create/", appointment_form())
    assert fresh.status_code == 302
    assert browser.token("/appointments/") != before


def test_an_auth_token_logs_nobody_in(app, user):
    """Flask-Security makes auth tokens (its JSON login hands them out); none opens a page here,
    so only a session the server can end (logout, a lock, a password change) logs anyone in."""
    with app.test_request_context():
        auth_token = user.get_auth_token()
    stranger = app.test_client()
    for url in ("/appointments/", "/account/", "/admin/"):
        for request in ({"headers": {"Authentication-Token": auth_token}},
                        {"query_string": {"auth_token": auth_token}}):
            response = stranger.get(url, **request)
            assert response.status_code == 302, (url, request, response.status_code)
            assert response.headers["Location"].startswith("/login"), url
