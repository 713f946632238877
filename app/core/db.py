"""The declarative base, the UTC column type and database set-up shared by every model, and
which database errors mean it cannot serve now."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy import DateTime, Engine, MetaData, event
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from flask_sqlalchemy import SQLAlchemy

# Stable constraint names, so that migrations can find and change them later.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# The largest value of an INTEGER column on PostgreSQL (int4), every table's id included.
# PostgreSQL refuses to compare an integer column with anything larger ("integer out of
# range"), SQLite anything past 64 bits: a number from a request is checked against this first.
MAX_INT = 2**31 - 1


def parse_id(value: object) -> int | None:
    """Read a row id given as text; None unless it is a whole number from 1 to MAX_INT."""
    text = str(value) if isinstance(value, int) else value
    if not isinstance(text, str) or not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 0 < number <= MAX_INT else None


def now_utc() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC; naive datetimes are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        # SQLite keeps no offset: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def result_processor(self, dialect, coltype):
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)
        # SQLite hands back the stored text: one parse of it, rather than SQLAlchemy's and
        # then process_result_value (a calendar page reads a thousand of these).
        return _utc_from_sqlite


def _utc_from_sqlite(value: str | datetime | None) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            # The UTC wall time as stored, read as UTC: faster than parsing, then replace().
            moment = datetime.fromisoformat(value + "+00:00")
        except ValueError:  # text written with an offset of its own
            moment = datetime.fromisoformat(value)
        if moment.tzinfo is UTC:
            return moment
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Milliseconds a SQLite connection waits for another's write lock before it gives up.
SQLITE_BUSY_TIMEOUT_MS = 5000


def _configure_sqlite(dbapi_connection, connection_record) -> None:
    """Set up a new SQLite connection for several processes and threads at once."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # Write-ahead logging: readers no longer wait for a writer (uWSGI's workers share the file).
    # The mode is kept in the file; switching takes a write lock, so only when it is not set yet.
    # An in-memory database has no file (its name is empty) and cannot use WAL.
    main = cursor.execute("SELECT file FROM pragma_database_list WHERE name = 'main'").fetchone()
    if main[0] and cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


# --- The database cannot serve now: which errors say so (app/core/errors.py answers 503) ---

# PostgreSQL SQLSTATE classes that say the server cannot serve now, whatever was asked:
# 08 connection lost or refused, 53 insufficient resources (disk full, out of memory, too many
# connections), 57 operator intervention (shutting down, starting up, statement cancelled),
# 58 system error (I/O).
UNAVAILABLE_SQLSTATE_CLASSES = ("08", "53", "57", "58")
UNAVAILABLE_SQLSTATES = {
    "25006",  # read_only_sql_transaction: a read-only database, or a standby after a fail-over
    "55P03",  # lock_not_available: a lock still held when lock_timeout ran out
}
# SQLite's primary result codes for the same situations (an extended code's low byte is one).
UNAVAILABLE_SQLITE_CODES = {
    sqlite3.SQLITE_BUSY,  # "database is locked": still locked when busy_timeout ran out
    sqlite3.SQLITE_LOCKED,
    sqlite3.SQLITE_READONLY,  # "attempt to write a readonly database"
    sqlite3.SQLITE_IOERR,
    sqlite3.SQLITE_FULL,  # "database or disk is full"
    sqlite3.SQLITE_CANTOPEN,  # the file or its folder is gone (an unmounted disk)
}
MAX_REASON_LENGTH = 200


def database_unavailable_reason(error: BaseException | None) -> str | None:
    """Say why the database cannot serve now, for the log; None when ``error`` is another one.

    Only the driver's error code and first line go into the reason, never the statement or
    its parameters (which may hold a session token or a password hash).
    """
    if isinstance(error, PoolTimeoutError):
        return "every pooled connection is busy"
    if not isinstance(error, DBAPIError):
        return None
    driver_error = error.orig
    if isinstance(driver_error, sqlite3.Error):
        code = getattr(driver_error, "sqlite_errorcode", None)
        if code is None or code & 0xFF not in UNAVAILABLE_SQLITE_CODES:
            return None
        return database_error_summary(error)
    sqlstate = getattr(driver_error, "sqlstate", None)  # psycopg's errors carry it
    if sqlstate is None:
        # No answer from the server at all: refused, cut off, or the connection found dead.
        if error.connection_invalidated or isinstance(error, OperationalError):
            return database_error_summary(error)
        return None
    if sqlstate[:2] in UNAVAILABLE_SQLSTATE_CLASSES or sqlstate in UNAVAILABLE_SQLSTATES:
        return database_error_summary(error)
    return None


def database_error_summary(error: DBAPIError) -> str:
    """The driver's error code and the first line of its message, for the log: never the
    statement or its parameters, nor PostgreSQL's DETAIL line (which quotes the values)."""
    driver_error = error.orig
    if isinstance(driver_error, sqlite3.Error):
        code = getattr(driver_error, "sqlite_errorname", None) or type(driver_error).__name__
    elif sqlstate := getattr(driver_error, "sqlstate", None):
        code = f"SQLSTATE {sqlstate}"
    else:
        code = type(driver_error).__name__
    lines = str(driver_error).strip().splitlines() or [""]
    return f"{code}: {lines[0][:MAX_REASON_LENGTH]}"


def close_session(exception: BaseException | None = None) -> None:
    """End the request's session, even on a connection the database server has just cut.

    The answer is made by then: a connection that died meanwhile (the server restarting) must
    not turn it into an error, which uWSGI would send as a cut-off answer. Closing throws the
    dead connection away; Flask-SQLAlchemy's own teardown then finds the session closed.
    """
    try:
        current_app.extensions["sqlalchemy"].session.close()
    except SQLAlchemyError as error:
        reason = database_unavailable_reason(error) or type(error).__name__
        current_app.logger.warning("Database connection lost after the answer: %s", reason)


def _postgresql_limits(config) -> Callable[..., None]:
    """A ``do_connect`` listener that limits the time a new PostgreSQL connection may take, and
    the time each of its statements may run and wait for locks (server settings passed at
    connect, so they cost no round trip), unless the database URL sets its own."""
    connect_timeout = config.get("DATABASE_CONNECT_TIMEOUT")
    settings = {
        "statement_timeout": config.get("DATABASE_STATEMENT_TIMEOUT"),
        "lock_timeout": config.get("DATABASE_LOCK_TIMEOUT"),
    }

    def limit(dialect, connection_record, cargs, cparams) -> None:
        if connect_timeout:
            cparams.setdefault("connect_timeout", connect_timeout)
        options = cparams.get("options", "")
        for name, seconds in settings.items():
            if seconds and name not in options:
                options += f" -c {name}={round(seconds * 1000)}"
        if options:
            cparams["options"] = options.strip()

    return limit


def init_db(app: Flask, db: SQLAlchemy) -> None:
    """Turn on SQLite's foreign keys, busy timeout and WAL for every new connection of ``db``
    (bound to ``app`` already), limit the time a PostgreSQL connection, statement or lock wait
    may take, and close each request's session whatever state its connection is in.

    ``db`` is passed in, not imported: app.extensions builds it on this module's ``Base``.
    """
    with app.app_context():
        engine: Engine = db.engine
    if engine.dialect.name == "sqlite" and not event.contains(engine, "connect", _configure_sqlite):
        event.listen(engine, "connect", _configure_sqlite)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "do_connect", _postgresql_limits(app.config))
    # Registered after Flask-SQLAlchemy's teardown, so it runs before it.
    app.teardown_appcontext(close_session)
