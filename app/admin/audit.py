"""Recording the audit log: admin panel changes with field-level differences, account events."""

from __future__ import annotations

from flask import Flask


def record_change(model, created: bool) -> None:
    """Record a create or an update made in the admin panel, before it is committed.

    The form has already been copied onto ``model``; the old values of an update are in
    SQLAlchemy's attribute history.
    """


def record_delete(model) -> None:
    """Record a delete done in the admin panel."""


def init_audit(app: Flask) -> None:
    """Connect Flask-Security's signals (logins, failed logins, password changes) to the log."""


def add_views(admin) -> None:
    """Add the read-only audit log view to the admin panel."""
