"""The admin benchmark's data on PostgreSQL: the real migrations, then COPY for the rows.

The same users and appointments as bench/data.py's generators make for SQLite (the measured
user, who is also the staff member logging in, keeps a full schedule: 60 appointments in the
reference month's grid), loaded with PostgreSQL's COPY. The appointment table's secondary
indexes, as the migrations made them, are set aside during the load and rebuilt from their
own definitions afterwards: one sort per index instead of a million insertions into each.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, timezone

import flask_migrate
import psycopg

from app.accounts.models import ROLE_STAFF
from app.extensions import db
from bench import data
from bench.scenario import MEASURED_USER_ID
from tests.support.postgres import Cluster

USER_COLUMNS = (
    "id", "email", "full_name", "password", "active", "confirmed_at", "fs_uniquifier",
    "calendar_token_hash", "timezone", "locale",
)
APPOINTMENT_COLUMNS = (
    "owner_id", "title", "start_at", "end_at", "all_day", "location", "description", "created",
    "modified",
)
STAFF_USER_ID = MEASURED_USER_ID


def build_database(
    cluster: Cluster, size: int, server_secrets: Mapping[str, str], password: str,
    say: Callable[[str], None] = print,
) -> None:
    """Migrate the cluster's empty database, fill it, make the measured user staff, analyze."""
    started = time.monotonic()
    app = data.production_app_at(cluster.sqlalchemy_url, server_secrets)
    password_hash = data.hash_bench_password(app, password)
    with app.app_context():
        flask_migrate.upgrade()
        db.engine.dispose()
    say(f"  migrated in {time.monotonic() - started:.1f} s")
    now = datetime.now(timezone.utc)
    with psycopg.connect(cluster.conninfo) as connection:
        with connection.transaction():
            step = time.monotonic()
            copy_rows(connection, '"user"', USER_COLUMNS, data.user_rows(password_hash, now))
            connection.execute(
                "SELECT setval(pg_get_serial_sequence('\"user\"', 'id'), max(id)) FROM \"user\""
            )
            connection.execute(
                "INSERT INTO roles_users (user_id, role_id) "
                "SELECT %s, id FROM role WHERE name = %s",
                (STAFF_USER_ID, ROLE_STAFF),
            )
            indexes = drop_secondary_indexes(connection, "appointment")
            copy_rows(connection, "appointment", APPOINTMENT_COLUMNS,
                      data.appointment_rows(size, now))
            say(f"  copied {size:,} appointments in {time.monotonic() - step:.1f} s")
            step = time.monotonic()
            for definition in indexes:
                connection.execute(definition)
            say(f"  rebuilt {len(indexes)} indexes in {time.monotonic() - step:.1f} s")
            set_longest_appointments(connection)
        # Autovacuum would otherwise visit the new table in the middle of the measurements;
        # VACUUM also sets the visibility map that index-only scans rely on.
        step = time.monotonic()
        connection.autocommit = True
        connection.execute("VACUUM (ANALYZE)")
        say(f"  vacuumed and analyzed in {time.monotonic() - step:.1f} s")


def copy_rows(
    connection: psycopg.Connection, table: str, columns: tuple[str, ...], rows: Iterable[dict]
) -> None:
    names = ", ".join(columns)
    with connection.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[name] for name in columns])


def drop_secondary_indexes(connection: psycopg.Connection, table: str) -> list[str]:
    """Drop a table's plain indexes (not its primary key's, nor one a unique constraint owns:
    that goes only with its constraint); return their definitions."""
    rows = connection.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        (table,),
    ).fetchall()
    for name, _definition in rows:
        connection.execute(f"DROP INDEX {name}")
    return [definition for _name, definition in rows]


def set_longest_appointments(connection: psycopg.Connection) -> None:
    """Store each user's longest appointment, which the calendar's range query relies on."""
    connection.execute(
        """
        UPDATE "user" AS u
        SET longest_appointment_seconds = longest.seconds
        FROM (
            SELECT owner_id, max(extract(epoch FROM end_at - start_at))::integer AS seconds
            FROM appointment GROUP BY owner_id
        ) AS longest
        WHERE u.id = longest.owner_id
        """
    )
