"""The declarative base, the UTC column type and database set-up shared by every model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy import DateTime, Engine, MetaData, event
from sqlalchemy.exc import SQLAlchemyError
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
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """A timezone-aware datetime stored in UTC; naive datetimes are refused, not guessed."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(timezone.utc)
        # SQLite keeps no offset: store the UTC wall time.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


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


def close_session(exception: BaseException | None = None) -> None:
    """End the request's session, even on a connection the database server has just cut.

    The answer is made by then: a connection that died meanwhile (the server restarting) must
    not turn it into an error, which uWSGI would send as a cut-off answer. Closing throws the
    dead connection away; Flask-SQLAlchemy's own teardown then finds the session closed.
    """
    from app.core.errors import database_unavailable_reason

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
    if engine.dialect.name == "sqlite" and not event.contains(
        engine, "connect", _configure_sqlite
    ):
        event.listen(engine, "connect", _configure_sqlite)
    if engine.dialect.name == "postgresql":
        event.listen(engine, "do_connect", _postgresql_limits(app.config))
    # Registered after Flask-SQLAlchemy's teardown, so it runs before it.
    app.teardown_appcontext(close_session)
