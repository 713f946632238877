"""The migrations build, fill in and take down the schema on real data."""

from __future__ import annotations

import flask_migrate
import pytest
from alembic import command
from sqlalchemy import inspect, text

from app import create_app
from app.extensions import db


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
            token, longest = connection.execute(
                text("SELECT calendar_token, longest_appointment_seconds FROM user")
            ).one()
            assert len(token) >= 40
            assert longest == 3 * 86400
            assert connection.execute(text("SELECT count(*) FROM appointment")).scalar() == 1
            assert connection.execute(text("PRAGMA foreign_key_check")).all() == []

        flask_migrate.downgrade(revision="base")
        assert "appointment" not in inspect(db.engine).get_table_names()
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
