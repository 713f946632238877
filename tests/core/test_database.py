"""Database connections: SQLite set up for concurrent use, PostgreSQL outages survived."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest
from sqlalchemy import insert
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from app import create_app
from app.core.db import SQLITE_BUSY_TIMEOUT_MS, now_utc
from app.extensions import db
from app.scheduling.models import Appointment


def pragmas(connection, *names: str) -> dict:
    return {name: connection.exec_driver_sql(f"PRAGMA {name}").scalar() for name in names}


@pytest.mark.sqlite_only(reason="checks SQLite's own settings (pragmas)")
def test_sqlite_connections_wait_for_locks_use_wal_and_check_foreign_keys(app):
    with db.engine.connect() as connection:
        assert pragmas(connection, "foreign_keys", "busy_timeout", "journal_mode") == {
            "foreign_keys": 1,
            "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
            "journal_mode": "wal",
        }
    # WAL is kept in the file: a connection that sets nothing up finds it too.
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    with closing(sqlite3.connect(path)) as plain:
        assert plain.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_in_memory_sqlite_database_checks_foreign_keys_without_wal():
    """WAL needs a file; the settings that need none still apply."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        with db.engine.connect() as connection:
            assert pragmas(connection, "foreign_keys", "busy_timeout", "journal_mode") == {
                "foreign_keys": 1,
                "busy_timeout": SQLITE_BUSY_TIMEOUT_MS,
                "journal_mode": "memory",
            }
        db.engine.dispose()


def test_the_database_refuses_an_appointment_without_its_owner(app):
    now = now_utc()
    values = {"owner_id": 999_999, "title": "Orphan", "start": now, "end": now}
    with pytest.raises(IntegrityError):
        db.session.execute(insert(Appointment).values(**values))
    db.session.rollback()


# --------------------------------------------------------------------------------------------
# Recovering from a database restart (PostgreSQL)
# --------------------------------------------------------------------------------------------

NO_SERVER = "SQLite has no server to restart"


@pytest.mark.postgresql_only(reason=NO_SERVER)
def test_the_app_recovers_by_itself_after_the_database_restarts(logged_in, cluster):
    assert logged_in.get("/appointments/").status_code == 200
    db.session.remove()  # the test's own connection goes back to the pool too, as a request's does

    cluster.restart()  # closes every connection from the server's side

    # pool_pre_ping finds the pooled connection dead and opens a new one.
    assert logged_in.get("/appointments/").status_code == 200


@pytest.mark.postgresql_only(reason=NO_SERVER)
@pytest.mark.parametrize("app_overrides", [{"SQLALCHEMY_ENGINE_OPTIONS": {}}])
def test_without_pre_ping_the_first_request_after_a_restart_fails(logged_in, cluster):
    """The check above is what saves the request: without it the dead connection is used (and
    the request answers 503, app/core/errors.py)."""
    assert logged_in.get("/appointments/").status_code == 200
    db.session.remove()
    cluster.restart()
    assert logged_in.get("/appointments/").status_code == 503
    assert logged_in.get("/appointments/").status_code == 200  # the pool was invalidated
