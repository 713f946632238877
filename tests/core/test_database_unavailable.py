"""A database that cannot serve (stopped, read-only, full, locked, gone) answers a clear 503 with
Retry-After, reads keep working where the database still reads, nothing is lost or corrupted,
and the app recovers by itself once the database is back."""

from __future__ import annotations

import logging
import shutil
import socket
import sqlite3
import threading
import time
from contextlib import closing
from pathlib import Path

import flask_migrate
import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app import create_app
from app.core.db import database_unavailable_reason
from app.core.errors import RETRY_AFTER_SECONDS
from app.extensions import db
from app.scheduling.models import Appointment
from tests.core.test_database import NO_SERVER
from tests.support import factories
from tests.support.browser import Browser, RequestIsolatingClient
from tests.support.factories import make_appointment, make_user
from tests.support.queries import count_appointments
from tests.support.tmpfs import fill, small_disk

UNAVAILABLE_TEXT = "The service is temporarily unavailable"


def appointment_form(title: str, **changes) -> dict:
    # "Save anyway": these tests do not care about overlaps.
    return factories.appointment_form(title=title, confirm_overlap="y", **changes)


def assert_unavailable_page(response) -> None:
    html = response.get_data(as_text=True)
    assert response.status_code == 503, html[:2000]
    assert response.mimetype == "text/html"
    assert UNAVAILABLE_TEXT in html and 'class="navbar' in html
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    assert "Traceback" not in html and "SELECT" not in html and "INSERT" not in html


def assert_unavailable_json(response) -> None:
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(RETRY_AFTER_SECONDS)
    error = response.get_json()["error"]
    assert error["code"] == 503 and UNAVAILABLE_TEXT in error["message"]


def titles_in(path: Path) -> list[str]:
    """The appointment titles in a SQLite file, read without the app."""
    with closing(sqlite3.connect(path)) as connection:
        return [row[0] for row in connection.execute("SELECT title FROM appointment")]


def integrity_check(path: Path) -> str:
    with closing(sqlite3.connect(path)) as connection:
        return connection.execute("PRAGMA integrity_check").fetchone()[0]


@pytest.fixture
def app_at():
    """Build apps on given database URLs, each with its own app context; all undone at the end."""
    contexts = []

    def build(url: str):
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
        app.test_client_class = RequestIsolatingClient
        context = app.app_context()
        context.push()
        contexts.append(context)
        return app

    yield build
    for context in reversed(contexts):
        db.session.remove()
        db.engine.dispose()
        context.pop()


def sqlite_path(database_url: str) -> Path:
    return Path(make_url(database_url).database)


# --------------------------------------------------------------------------------------------
# Which errors mean "unavailable": real errors from real databases
# --------------------------------------------------------------------------------------------


def wrapped(engine: sa.Engine, *statements: str) -> DBAPIError:
    """The error SQLAlchemy raises when ``statements`` run on ``engine``, one connection."""
    with pytest.raises(DBAPIError) as caught, engine.connect() as connection:
        for statement in statements:
            connection.exec_driver_sql(statement)
    return caught.value


@pytest.mark.sqlite_only(reason="SQLite's own errors")
def test_sqlite_errors_that_mean_unavailable_and_those_that_do_not(app, database_url):
    path = sqlite_path(database_url)
    read_only = sa.create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    impatient = sa.create_engine(f"sqlite:///{path}", connect_args={"timeout": 0})
    with closing(sqlite3.connect(path)) as holder:
        holder.execute("BEGIN IMMEDIATE")  # holds the write lock
        locked = wrapped(impatient, "INSERT INTO role (name) VALUES ('x')")
        holder.rollback()
    reasons = {
        "read-only": database_unavailable_reason(
            wrapped(read_only, "DELETE FROM appointment")
        ),
        "locked": database_unavailable_reason(locked),
        "no such table": database_unavailable_reason(wrapped(impatient, "SELECT * FROM nothing")),
        "integrity": database_unavailable_reason(
            wrapped(impatient, "INSERT INTO appointment (id) VALUES (NULL)")
        ),
    }
    read_only.dispose()
    impatient.dispose()
    assert reasons == {
        "read-only": "SQLITE_READONLY: attempt to write a readonly database",
        "locked": "SQLITE_BUSY: database is locked",
        "no such table": None,
        "integrity": None,
    }


@pytest.mark.postgresql_only(reason="PostgreSQL's own errors")
def test_postgresql_errors_that_mean_unavailable_and_those_that_do_not(app):
    engine = db.engine
    read_only = wrapped(
        engine, "SET TRANSACTION READ ONLY", "CREATE TABLE nothing_here (id int)"
    )
    refused = sa.create_engine(
        make_url(str(engine.url)).set(port=1), connect_args={"connect_timeout": 2}
    )
    with pytest.raises(DBAPIError) as caught, refused.connect():
        pass
    refused.dispose()
    assert database_unavailable_reason(read_only) == (
        "SQLSTATE 25006: cannot execute CREATE TABLE in a read-only transaction"
    )
    assert database_unavailable_reason(caught.value).startswith("OperationalError: ")
    assert database_unavailable_reason(wrapped(engine, "SELECT * FROM nothing")) is None
    integrity = wrapped(engine, "INSERT INTO appointment (id) VALUES (NULL)")
    assert database_unavailable_reason(integrity) is None


# --------------------------------------------------------------------------------------------
# The answers: pages and JSON
# --------------------------------------------------------------------------------------------


@pytest.mark.sqlite_only(reason="opens the SQLite file read-only")
def test_a_read_only_sqlite_database_refuses_writes_with_503_and_reads_keep_working(
    app, logged_in, user, app_at, database_url, caplog
):
    """SQLite reports a file it may not write as read-only (its permissions, a read-only
    copy); root may write any file, so the app opens it read-only the way SQLite allows."""
    kept = make_appointment(user, title="Kept")
    email, version = user.email, kept.version
    read_only_app = app_at(f"sqlite:///file:{sqlite_path(database_url)}?mode=ro&uri=true")
    client = read_only_app.test_client()
    client.set_cookie("session", logged_in.client.get_cookie("session").value)
    browser = Browser(client)

    assert "Kept" in browser.get("/appointments/").get_data(as_text=True)
    assert browser.get(f"/appointments/{kept.id}/").status_code == 200
    with caplog.at_level(logging.WARNING, logger=read_only_app.logger.name):
        assert_unavailable_page(
            browser.submit("/appointments/create/", appointment_form("Refused"))
        )
    assert [r.getMessage() for r in caplog.records] == [
        "Database unavailable, answered 503 to POST scheduling.appointment_create: "
        "SQLITE_READONLY: attempt to write a readonly database"
    ]
    assert_unavailable_page(browser.submit(
        f"/appointments/{kept.id}/edit/", appointment_form("Changed", version=version)
    ))
    assert_unavailable_json(
        browser.delete(f"/appointments/{kept.id}/delete/", browser.token("/appointments/"))
    )
    # The page reads as for the logged-in user: their name is still in the menu.
    html = browser.submit("/appointments/create/", appointment_form("Refused")).get_data(
        as_text=True
    )
    assert email in html
    assert titles_in(sqlite_path(database_url)) == ["Kept"]


@pytest.mark.sqlite_only(reason="opens the SQLite file read-only")
def test_the_admin_panel_answers_503_too_when_the_database_refuses_writes(
    app, browser, user, app_at, database_url
):
    """Not Flask-Admin's "Failed to delete record" message, which shows the SQL statement."""
    kept = make_appointment(user, title="Kept")
    make_user("staff@example.com", roles=("staff",))
    browser.login("staff@example.com")
    read_only_app = app_at(f"sqlite:///file:{sqlite_path(database_url)}?mode=ro&uri=true")
    client = read_only_app.test_client()
    client.set_cookie("session", browser.client.get_cookie("session").value)
    token = Browser(client).token("/admin/appointments/")

    one = {"id": str(kept.id), "csrf_token": token}
    assert_unavailable_page(client.post("/admin/appointments/delete/", data=one))
    bulk = {"action": "delete", "rowid": [str(kept.id)], "confirmed": "1", "csrf_token": token}
    assert_unavailable_page(client.post("/admin/appointments/action/", data=bulk))
    assert titles_in(sqlite_path(database_url)) == ["Kept"]


@pytest.mark.sqlite_only(reason="moves the SQLite file's folder away")
def test_a_vanished_sqlite_database_answers_503_while_loading_the_user(
    tmp_path, app_at, database_url
):
    """The database is read on every request for the logged-in user (Flask-Security); when
    that read fails, the 503 page is shown as to a visitor."""
    folder = tmp_path / "disk"
    folder.mkdir()
    shutil.copy(sqlite_path(database_url), folder / "sched.db")
    app = app_at(f"sqlite:///{folder / 'sched.db'}")
    make_user("vanishing@example.com")
    browser = Browser(app.test_client())
    browser.login("vanishing@example.com")
    assert browser.get("/appointments/").status_code == 200

    db.session.remove()
    db.engine.dispose()
    folder.rename(tmp_path / "away")  # as an unmounted disk: "unable to open database file"
    try:
        response = browser.get("/appointments/")
        assert_unavailable_page(response)
        assert "Log in" in response.get_data(as_text=True)
        assert_unavailable_json(
            browser.get("/appointments/", headers={"Accept": "application/json"})
        )
        assert browser.get("/healthz").status_code == 503
    finally:
        (tmp_path / "away").rename(folder)
    assert browser.get("/appointments/").status_code == 200  # the same app, recovered


def test_a_database_server_that_never_answers_gets_the_503_page_within_seconds():
    """A server that takes the connection and then says nothing (a hung host; a black hole on
    the way is alike): psycopg would wait 130 s, past uWSGI's harakiri."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        app = create_app("testing", {
            "SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://sched:x@127.0.0.1:{port}/sched",
            "DATABASE_CONNECT_TIMEOUT": 2,  # psycopg's least
        })
        app.add_url_rule(
            "/count", "count",
            lambda: str(db.session.scalar(select(func.count()).select_from(Appointment))),
        )
        started = time.monotonic()
        response = app.test_client().get("/count")
        elapsed = time.monotonic() - started
        with app.app_context():
            db.engine.dispose()
    assert_unavailable_page(response)
    assert 2 <= elapsed < 10


def test_other_database_errors_keep_their_500(database_url):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database_url})
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def orphan():
        db.session.execute(sa.text("INSERT INTO appointment (id) VALUES (NULL)"))

    app.add_url_rule("/orphan", "orphan", orphan)
    with app.app_context():
        response = app.test_client().get("/orphan")
        db.session.remove()
        db.engine.dispose()
    assert response.status_code == 500
    assert "Something went wrong on our side" in response.get_data(as_text=True)


# --------------------------------------------------------------------------------------------
# A full disk (SQLite on a small tmpfs)
# --------------------------------------------------------------------------------------------


@pytest.fixture
def disk(tmp_path) -> Path:
    """A 4 MB disk of the test's own."""
    with small_disk(tmp_path / "disk", "4m") as folder:
        yield folder


@pytest.mark.sqlite_only(reason="a SQLite file on a full disk")
def test_a_full_disk_refuses_writes_with_503_reads_keep_working_and_nothing_is_lost(
    disk, app_at, database_url
):
    path = disk / "sched.db"
    shutil.copy(sqlite_path(database_url), path)
    app = app_at(f"sqlite:///{path}")
    make_user("full@example.com")
    browser = Browser(app.test_client())
    browser.login("full@example.com")

    def create(title: str):
        return browser.submit("/appointments/create/", appointment_form(title))

    acknowledged = [f"Before {n}" for n in range(3)]
    assert [create(title).status_code for title in acknowledged] == [302] * 3

    fill(disk / "filler")
    refused = None
    for n in range(50):  # what is left in the write-ahead log may take a few more
        response = create(f"Full {n}")
        if response.status_code == 302:
            acknowledged.append(f"Full {n}")
        else:
            refused = response
            break
    assert refused is not None, "the full disk took every write"
    assert_unavailable_page(refused)
    html = browser.get("/appointments/").get_data(as_text=True)
    assert all(title in html for title in acknowledged)
    assert browser.get("/healthz").status_code == 200  # reading works

    (disk / "filler").unlink()
    assert create("After").status_code == 302
    acknowledged.append("After")
    db.session.remove()
    db.engine.dispose()
    assert integrity_check(path) == "ok"
    assert sorted(titles_in(path)) == sorted(acknowledged)


# --------------------------------------------------------------------------------------------
# PostgreSQL: read-only, stopped and started again
# --------------------------------------------------------------------------------------------


@pytest.mark.postgresql_only(reason="sets a PostgreSQL database read-only")
def test_a_read_only_postgresql_refuses_writes_with_503_and_reads_keep_working(
    logged_in, user, database_url, postgresql_databases
):
    kept = make_appointment(user, title="Kept")
    version = kept.version
    quote = postgresql_databases.engine.dialect.identifier_preparer.quote
    name = quote(make_url(database_url).database)

    def read_only(on: bool) -> None:
        value = "SET default_transaction_read_only = on" if on else "RESET ALL"
        with postgresql_databases.engine.connect() as connection:
            connection.exec_driver_sql(f"ALTER DATABASE {name} {value}")
        db.session.remove()
        db.engine.dispose()  # the setting applies to new connections

    read_only(True)
    try:
        assert "Kept" in logged_in.get("/appointments/").get_data(as_text=True)
        assert logged_in.get(f"/appointments/{kept.id}/").status_code == 200
        assert_unavailable_page(
            logged_in.submit("/appointments/create/", appointment_form("Refused"))
        )
        assert_unavailable_page(logged_in.submit(
            f"/appointments/{kept.id}/edit/", appointment_form("Changed", version=version)
        ))
        token = logged_in.token("/appointments/")
        assert_unavailable_json(logged_in.delete(f"/appointments/{kept.id}/delete/", token))
    finally:
        read_only(False)
    assert logged_in.submit("/appointments/create/", appointment_form("Later")).status_code == 302
    titles = db.session.scalars(select(Appointment.title).order_by(Appointment.id)).all()
    assert titles == ["Kept", "Later"]


@pytest.mark.postgresql_only(reason="PostgreSQL cuts a connection")
def test_a_connection_cut_after_the_answer_is_made_does_not_cut_the_answer(
    app, postgresql_databases
):
    """The session still holds its connection when the request ends; if the server cut it
    meanwhile, closing it fails. That must not turn the answer made into an error."""

    def cut_own_connection():
        pid = db.session.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with postgresql_databases.engine.connect() as admin:
            admin.exec_driver_sql(f"SELECT pg_terminate_backend({pid}, 5000)")
        return "made"

    app.add_url_rule("/cut", "cut", cut_own_connection)
    response = app.test_client().get("/cut")
    assert response.status_code == 200 and response.get_data(as_text=True) == "made"
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.postgresql_only(reason=NO_SERVER)
def test_a_stopped_postgresql_answers_503_and_the_app_recovers_when_it_starts(
    logged_in, cluster
):
    assert logged_in.get("/appointments/").status_code == 200
    db.session.remove()
    cluster.stop()
    try:
        response = logged_in.get("/appointments/")  # loading the user fails first
        assert_unavailable_page(response)
        assert "Log in" in response.get_data(as_text=True)  # shown as to a visitor
        assert_unavailable_json(
            logged_in.get("/appointments/", headers={"Accept": "application/json"})
        )
        health = logged_in.client.get("/healthz")
        assert health.status_code == 503
    finally:
        cluster.start()
    # The same app, not restarted: the pool drops its dead connections and opens new ones.
    assert logged_in.get("/appointments/").status_code == 200
    assert logged_in.get("/healthz").status_code == 200
    assert count_appointments() == 0


# --------------------------------------------------------------------------------------------
# Statements and lock waits that take too long (PostgreSQL's statement_timeout, lock_timeout)
# --------------------------------------------------------------------------------------------

SHORT_TIMEOUTS = {"DATABASE_LOCK_TIMEOUT": 0.5, "DATABASE_STATEMENT_TIMEOUT": 1}


def holding_connection(database_url: str):
    """Another client's connection; the server ends it if it idles in a transaction for 15 s,
    so a test whose request would wait for its locks forever fails instead of hanging."""
    return sa.create_engine(
        database_url,
        connect_args={"options": "-c idle_in_transaction_session_timeout=15000"},
        poolclass=sa.pool.NullPool,
    ).connect()


@pytest.mark.postgresql_only(reason="PostgreSQL's lock_timeout")
@pytest.mark.parametrize("app_overrides", [SHORT_TIMEOUTS])
def test_an_appointment_locked_elsewhere_answers_503_instead_of_hanging(
    logged_in, user, database_url
):
    kept = make_appointment(user, title="Kept")
    form = appointment_form("Changed", version=kept.version)
    with holding_connection(database_url) as holder:
        holder.execute(sa.text("SELECT id FROM appointment WHERE id = :id FOR UPDATE"),
                       {"id": kept.id})
        started = time.monotonic()
        assert_unavailable_page(logged_in.submit(f"/appointments/{kept.id}/edit/", form))
        # Refused once the lock wait ran out, long before the holder's 15 s (or a harakiri).
        assert time.monotonic() - started < 10
        holder.rollback()
    # The lock gone, the same edit goes through; the refused one changed nothing meanwhile.
    db.session.expire_all()
    assert db.session.get(Appointment, kept.id).title == "Kept"
    assert logged_in.submit(f"/appointments/{kept.id}/edit/", form).status_code == 302
    db.session.expire_all()
    assert db.session.get(Appointment, kept.id).title == "Changed"


@pytest.mark.postgresql_only(reason="PostgreSQL's statement_timeout")
@pytest.mark.parametrize("app_overrides", [SHORT_TIMEOUTS])
def test_a_statement_running_too_long_answers_503_and_frees_the_worker(app, caplog):
    def slow():
        db.session.execute(sa.text("SELECT pg_sleep(30)"))
        return "finished"

    app.add_url_rule("/slow", "slow", slow)
    started = time.monotonic()
    with caplog.at_level(logging.WARNING):
        assert_unavailable_page(app.test_client().get("/slow"))
    assert time.monotonic() - started < 10  # cancelled by the server, not after 30 s
    assert "SQLSTATE 57014" in caplog.text and "pg_sleep" not in caplog.text
    # The connection is fine afterwards, and so is the next request.
    assert app.test_client().get("/healthz").status_code == 200


@pytest.mark.postgresql_only(reason="PostgreSQL's lock_timeout")
@pytest.mark.parametrize("app_overrides", [SHORT_TIMEOUTS])
def test_a_migration_waits_for_the_running_apps_locks_instead_of_failing(app, database_url):
    """The timeouts are for requests: `flask db upgrade` during a deploy waits for the live
    app's transactions to release the tables it alters."""
    flask_migrate.downgrade(revision="0009")
    db.engine.dispose()
    with holding_connection(database_url) as holder:
        holder.execute(sa.text('SELECT count(*) FROM "user"'))  # a reader's lock on the table
        release = threading.Timer(2, holder.rollback)
        release.start()
        started = time.monotonic()
        try:
            flask_migrate.upgrade()
        finally:
            release.join()
        assert time.monotonic() - started >= 1.5  # it waited for the reader...
    column = {c["name"]: c for c in sa.inspect(db.engine).get_columns("user")}
    assert isinstance(column["longest_appointment_seconds"]["type"], sa.BigInteger)  # ...and ran
