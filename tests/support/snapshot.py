"""What the database and the catalogs hold, in a form two moments can be compared by.

``snapshot()`` reads every row of the chosen tables (all of the app's by default) on a
connection of its own, so it sees what the requests committed, not what the test's session
remembers. Two snapshots are equal exactly when no row was added, removed or changed.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import select

from app.extensions import db

# Rows that requests write for their own bookkeeping, not as something a user stored:
# the server-side sessions that a login or a visit creates.
BOOKKEEPING_TABLES = frozenset({"user_session", "alembic_version"})


def content_tables() -> list[str]:
    """The app's tables, bookkeeping left out."""
    return [t.name for t in db.metadata.sorted_tables if t.name not in BOOKKEEPING_TABLES]


def snapshot(tables: Iterable[str] | None = None, files: Path | None = None) -> dict:
    """Return each table's row count and a checksum of its rows; with ``files``, of those too.

    ``files`` is a folder (the catalogs, say) whose files' contents are checksummed by name.
    """
    names = list(tables) if tables is not None else content_tables()
    state: dict[str, tuple[int, str]] = {}
    with db.engine.connect() as connection:
        for name in names:
            table = db.metadata.tables[name]
            order = list(table.primary_key.columns) or list(table.columns)
            rows = connection.execute(select(table).order_by(*order)).all()
            digest = hashlib.sha256()
            for row in rows:
                digest.update(repr(tuple(row)).encode())
            state[name] = (len(rows), digest.hexdigest())
    if files is not None:
        for path in sorted(files.rglob("*")):
            if path.is_file():
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
                state[str(path.relative_to(files))] = (1, digest)
    return state
