"""The flask commands an operator uses: users, roles and demo data."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from app.accounts.models import User
from app.extensions import db
from tests.support.queries import count_appointments


def run(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def test_users_create_makes_an_account_that_can_log_in_at_once(app, browser):
    result = run(
        app, "users", "create", "ops@example.com", "--password", "operator password", "--active",
        "full_name:Otto Operator",
    )
    assert result.exit_code == 0, result.output
    run(app, "roles", "add", "ops@example.com", "staff")
    db.session.expire_all()
    user = db.session.scalar(select(User).filter_by(email="ops@example.com"))
    assert user.full_name == "Otto Operator"
    assert [role.name for role in user.roles] == ["staff"]
    browser.login("ops@example.com", "operator password")
    assert browser.get("/appointments/").status_code == 200


def test_users_create_refuses_a_short_password(app):
    result = run(app, "users", "create", "ops@example.com", "--password", "short", "--active")
    assert result.exit_code != 0
    assert "12" in result.output
    assert db.session.scalar(select(User).filter_by(email="ops@example.com")) is None


def test_seed_demo_fills_an_empty_database_once(app, browser, tmp_path):
    saved = tmp_path / "demo.txt"
    result = run(app, "seed-demo", "--save", str(saved))
    assert result.exit_code == 0, result.output
    logins = dict(re.findall(r"^\s+(\S+@example\.com)\s+(\S+)", result.output, re.M))
    assert set(logins) == {
        "admin@example.com", "staff@example.com", "translator@example.com", "user@example.com"
    }
    assert saved.read_text().count("@example.com") == 4
    db.session.expire_all()
    roles = {
        user.email: sorted(role.name for role in user.roles)
        for user in db.session.scalars(select(User))
    }
    assert roles["admin@example.com"] == ["admin"]
    assert roles["staff@example.com"] == ["staff"]
    assert roles["translator@example.com"] == ["translator"]
    assert roles["user@example.com"] == []
    assert 24 <= count_appointments() <= 100

    browser.login("user@example.com", logins["user@example.com"])
    page = browser.get("/appointments/").get_data(as_text=True)
    assert page.count('id="appointment-') >= 10

    again = run(app, "seed-demo")
    assert "already has users" in again.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 4
