"""The migrations build, fill in and take down the schema on real data."""

from __future__ import annotations

import hashlib
import secrets

import flask_migrate
import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import inspect, text

from app import create_app
from app.accounts.models import User
from app.extensions import db
from tests.support.factories import make_appointment


@pytest.mark.sqlite_only(reason="writes rows in SQLite's SQL and checks them with its PRAGMA")
def test_upgrade_fills_in_new_columns_for_existing_rows(tmp_path):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'm.db'}"})
    with app.app_context():
        flask_migrate.upgrade(revision="0001")
        with db.engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO user (id, email, active, fs_uniquifier, full_name, locale, timezone)"
                " VALUES (1, 'old@example.com', 1, 'u1', '', 'en', 'UTC')"
            ))
            connection.execute(text(
                "INSERT INTO appointment (owner_id, title, start_at, end_at, all_day, location,"
                " description, created, modified) VALUES (1, 'Trip', '2026-01-01 00:00:00',"
                " '2026-01-04 00:00:00', 0, '', '', '2026-01-01 00:00:00', '2026-01-01 00:00:00')"
            ))
        flask_migrate.upgrade()
        with db.engine.connect() as connection:
            token_hash, longest = connection.execute(
                text("SELECT calendar_token_hash, longest_appointment_seconds FROM user")
            ).one()
            assert len(token_hash) == 64  # 0002's token, hashed by 0011
            assert longest == 3 * 86400
            assert connection.execute(text("SELECT count(*) FROM appointment")).scalar() == 1
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []

        flask_migrate.downgrade(revision="base")
        assert "appointment" not in inspect(db.engine).get_table_names()
        db.engine.dispose()


def test_feed_tokens_made_before_hashing_keep_working_and_are_kept_nowhere(
    empty_database_url,
):
    """0011 keeps each feed token as its SHA-256: old addresses work, the table holds no token."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    old_token = secrets.token_urlsafe(32)
    with app.app_context():
        try:
            flask_migrate.upgrade(revision="0010")
            old_user = sa.table(
                "user", *(sa.column(name) for name in (
                    "id", "email", "active", "fs_uniquifier", "full_name", "locale", "timezone",
                    "calendar_token", "longest_appointment_seconds", "failed_logins",
                )),
            )
            with db.engine.begin() as connection:
                connection.execute(old_user.insert(), [
                    {"id": user_id, "email": f"old{user_id}@example.com", "active": True,
                     "fs_uniquifier": f"u{user_id}", "full_name": "", "locale": "en",
                     "timezone": "UTC", "calendar_token": token,
                     "longest_appointment_seconds": 0, "failed_logins": 0}
                    for user_id, token in ((1, old_token), (2, secrets.token_urlsafe(32)))
                ])
            flask_migrate.upgrade()

            owner = db.session.get(User, 1)
            make_appointment(owner, title="Still subscribed")
            client = app.test_client()
            response = client.get(f"/calendar/feed/{old_token}.ics")
            assert response.status_code == 200
            assert b"SUMMARY:Still subscribed" in response.data
            # The table keeps the token's hash, which opens nothing, and the token nowhere.
            with db.engine.connect() as connection:
                rows = connection.execute(
                    sa.text('SELECT * FROM "user" ORDER BY id')
                ).mappings().all()
            stored = rows[0]["calendar_token_hash"]
            assert "calendar_token" not in rows[0]
            assert stored == hashlib.sha256(old_token.encode()).hexdigest()
            assert not any(old_token in str(value) for row in rows for value in row.values())
            assert client.get(f"/calendar/feed/{stored}.ics").status_code == 404
            db.session.remove()

            # Going back cannot bring the tokens back: every user gets a new one.
            flask_migrate.downgrade(revision="0010")
            with db.engine.connect() as connection:
                tokens = connection.execute(
                    sa.text('SELECT calendar_token FROM "user" ORDER BY id')
                ).scalars().all()
            assert len(set(tokens)) == 2 and old_token not in tokens and all(tokens)
        finally:
            db.session.remove()
            db.engine.dispose()


def test_migrations_build_the_schema_the_models_describe(empty_database_url):
    """A model change without its migration would leave real databases behind the code."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": empty_database_url})
    with app.app_context():
        try:
            flask_migrate.upgrade()
            # `flask db check`: autogenerate, as migrations/env.py sets it up, finds nothing to do
            # (on PostgreSQL too, whose trigram indexes env.py leaves out on purpose). Alembic's
            # command raises with the differences; Flask-Migrate's would only exit.
            command.check(app.extensions["migrate"].migrate.get_config())
        finally:
            db.engine.dispose()
