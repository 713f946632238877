"""Accounts through Flask-Security: register, confirm, log in and out, reset, change, profile."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from tests.support.factories import PASSWORD, make_user
from tests.support.queries import find_user

LINK_RE = re.compile(r"https?://[^\s\"'<>]+")


def link_in(message, path: str) -> str:
    """Return the link to ``path`` from a mail's text, as a relative URL."""
    links = [link for link in LINK_RE.findall(message.body) if path in link]
    assert links, f"no {path} link in: {message.body}"
    return re.sub(r"^https?://[^/]+", "", links[0])


def register(browser, **changes):
    data = {
        "email": "new@example.com",
        "full_name": "Nina New",
        "password": "twelve chars ok",
        "password_confirm": "twelve chars ok",
        "timezone": "America/New_York",
        "locale": "de",
    }
    data.update(changes)
    return browser.submit("/register", data)


def test_register_confirm_by_mail_then_log_in(browser, outbox):
    response = register(browser)
    assert response.status_code == 302
    user = find_user("new@example.com")
    assert (user.full_name, user.timezone, user.locale) == ("Nina New", "America/New_York", "de")
    assert user.confirmed_at is None
    assert user.password.startswith("$argon2id$"), "passwords are hashed with argon2id"

    # Not confirmed yet: logging in is refused.
    refused = browser.submit("/login", {"email": "new@example.com", "password": "twelve chars ok"})
    assert refused.status_code == 400
    assert "confirm" in refused.get_data(as_text=True).lower()

    assert len(outbox) == 1 and outbox[0].to == ["new@example.com"]
    confirmed = browser.get(link_in(outbox[0], "/confirm/"), follow_redirects=True)
    assert confirmed.status_code == 200
    assert find_user("new@example.com").confirmed_at is not None

    browser.login("new@example.com", "twelve chars ok")
    page = browser.get("/appointments/").get_data(as_text=True)
    assert "Nina New" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"password": "short pass", "password_confirm": "short pass"}, "at least 12 characters"),
        ({"password_confirm": "something else"}, "Passwords do not match"),
        ({"email": "not-an-email"}, "Invalid email address"),
        ({"timezone": "Mars/Olympus_Mons"}, "Not a valid choice"),
        ({"locale": "xx"}, "Not a valid choice"),
    ],
)
def test_register_with_bad_input_shows_errors_and_creates_nobody(browser, outbox, changes, message):
    response = register(browser, **changes)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert find_user(changes.get("email", "new@example.com")) is None
    assert outbox == []


def test_register_twice_with_one_address_keeps_one_account(browser, outbox, app):
    make_user("taken@example.com")
    response = register(browser, email="taken@example.com")
    assert response.status_code in (200, 302)
    assert len(db.session.scalars(select(User).filter_by(email="taken@example.com")).all()) == 1


def test_wrong_password_is_refused(browser, user):
    response = browser.submit("/login", {"email": user.email, "password": "wrong password!!"})
    assert response.status_code == 400
    # The same words as for an unknown address (tests/accounts/test_abuse.py).
    assert "Authentication failed" in response.get_data(as_text=True)
    assert browser.get("/appointments/").status_code == 302


def test_logout_is_a_post_with_csrf(logged_in):
    assert logged_in.get("/logout").status_code == 405
    assert logged_in.client.post("/logout").status_code == 400  # no CSRF token
    assert logged_in.get("/appointments/").status_code == 200
    response = logged_in.logout()
    assert response.status_code == 302
    assert logged_in.get("/appointments/").status_code == 302


def test_login_without_csrf_token_is_refused(client, user):
    response = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/appointments/").status_code == 302


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "http:/\\evil.example", "/\\evil.example"]
)
def test_login_never_redirects_off_site(browser, user, target):
    response = browser.submit(
        f"/login?next={target}",
        {"email": user.email, "password": PASSWORD, "next": target},
        form_url="/login",
    )
    if response.status_code == 302:
        # A browser reads a leading "//" or "/\\" as another host; a path is fine.
        location = response.headers["Location"]
        parts = urlsplit(location)
        assert parts.netloc in ("", "localhost") and not location.startswith(("//", "/\\"))
    else:
        # Flask-Security refuses the target with a form error and logs nobody in.
        assert response.status_code == 400
        assert "Redirections outside the domain are forbidden" in response.get_data(as_text=True)


def test_login_returns_to_the_page_asked_for(browser, user):
    response = browser.submit(
        "/login?next=/appointments/create/",
        {"email": user.email, "password": PASSWORD, "next": "/appointments/create/"},
    )
    assert response.headers["Location"].endswith("/appointments/create/")


def test_forgot_and_reset_password_by_mail(browser, user, outbox):
    browser.submit("/reset", {"email": user.email})
    assert len(outbox) == 1
    reset_url = link_in(outbox[0], "/reset/")
    response = browser.submit(
        reset_url, {"password": "a brand new password", "password_confirm": "a brand new password"}
    )
    assert response.status_code == 302
    refused = browser.submit("/login", {"email": user.email, "password": PASSWORD})
    assert refused.status_code == 400
    browser.login(user.email, "a brand new password")


def test_reset_for_unknown_address_sends_nothing(browser, outbox):
    response = browser.submit("/reset", {"email": "nobody@example.com"})
    assert response.status_code in (200, 302)
    assert outbox == []


def test_change_password(logged_in, user):
    response = logged_in.submit(
        "/change",
        {
            "password": PASSWORD,
            "new_password": "another long password",
            "new_password_confirm": "another long password",
        },
    )
    assert response.status_code == 302
    logged_in.logout()
    logged_in.login(user.email, "another long password")


def test_change_password_refuses_a_short_one(logged_in, user):
    response = logged_in.submit(
        "/change",
        {"password": PASSWORD, "new_password": "too short", "new_password_confirm": "too short"},
    )
    assert "at least 12 characters" in response.get_data(as_text=True)
    logged_in.logout()
    logged_in.login(user.email, PASSWORD)


def test_profile_changes_name_language_and_time_zone(logged_in, user):
    response = logged_in.submit(
        "/account/",
        {"full_name": "Olive O.", "locale": "fr", "timezone": "Asia/Tokyo"},
        follow_redirects=True,
    )
    assert response.status_code == 200
    db.session.refresh(user)
    assert (user.full_name, user.locale, user.timezone) == ("Olive O.", "fr", "Asia/Tokyo")


def test_profile_refuses_an_unknown_time_zone(logged_in, user):
    response = logged_in.submit(
        "/account/", {"full_name": "X", "locale": "en", "timezone": "../../etc/passwd"}
    )
    assert "Not a valid choice" in response.get_data(as_text=True)
    db.session.refresh(user)
    assert user.timezone == "Europe/Berlin"


def test_profile_needs_login(client):
    assert client.get("/account/").status_code == 302


def test_development_mail_is_printed_and_kept_in_the_instance_folder(
    database_url, tmp_path, monkeypatch, capsys
):
    from app import create_app
    from config import write_dev_secrets
    from tests.support.browser import Browser, RequestIsolatingClient

    instance = tmp_path / "instance"
    write_dev_secrets(instance)
    monkeypatch.setenv("SCHED_INSTANCE_PATH", str(instance))
    app = create_app("development", {"SQLALCHEMY_DATABASE_URI": database_url})
    app.test_client_class = RequestIsolatingClient
    register(Browser(app.test_client()), email="dev@example.com")
    with app.app_context():
        db.engine.dispose()  # this second app's connections, before the test's database goes

    printed = capsys.readouterr().out
    assert "To: dev@example.com" in printed
    assert "/confirm/" in printed
    saved = list((instance / "mail").iterdir())
    assert len(saved) == 1 and b"dev@example.com" in saved[0].read_bytes()
