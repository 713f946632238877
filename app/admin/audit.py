"""The audit log in the admin panel: its list, details and filters, in the reader's words.

What is recorded, and how, is ``app.audit.recording``'s."""

from __future__ import annotations

import re
from datetime import datetime
from typing import NamedTuple

from flask import Flask, get_template_attribute
from flask_admin.contrib.sqla.filters import (
    BaseSQLAFilter,
    DateBetweenFilter,
    FilterEqual,
    FilterLike,
)
from flask_babel import gettext
from sqlalchemy import false

from app.accounts.models import AUDIT_READ
from app.admin.base import SchedModelView
from app.audit.models import AuditEntry
from app.audit.recording import (
    ACCOUNT_LOCKED,
    CONFIRM,
    CREATE,
    DELETE,
    EXCEPTION,
    EXCLUDED_OCCURRENCE,
    LOGIN,
    LOGIN_FAILED,
    PASSWORD_CHANGE,
    PASSWORD_RESET,
    PASSWORD_RESET_SENT,
    REGISTER,
    SERIES,
    UPDATE,
)
from app.core.db import MAX_INT
from app.core.filters import datetime_filter
from app.core.gettext import lazy_gettext as _l
from app.core.timezones import in_calendar_years, local_days_in_utc, user_timezone
from app.extensions import db

# How much of a changed value the list shows; the details show it whole.
LIST_VALUE_LENGTH = 80
# A time as the log stores it (app/audit/recording.py, _as_text): 2026-05-04T08:00:00+00:00.
STORED_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(\+00:00|Z)")
# The objects whose history the edit and details pages link to (SchedModelView.history_kind),
# and the kinds of audit entry about each: a series and a changed occurrence are appointments.
HISTORY_KINDS = {
    "Appointment": ("Appointment", SERIES, EXCEPTION),
    "User": ("User",),
    "Role": ("Role",),
}
HISTORY_VALUE = re.compile(r"(?P<kind>[A-Za-z]+):(?P<id>[0-9]{1,10})")

ACTION_LABELS = {
    CREATE: _l("Created"),
    UPDATE: _l("Changed"),
    DELETE: _l("Deleted"),
    LOGIN: _l("Logged in"),
    LOGIN_FAILED: _l("Failed login"),
    PASSWORD_CHANGE: _l("Changed password"),
    PASSWORD_RESET: _l("Reset password"),
    PASSWORD_RESET_SENT: _l("Sent password reset e-mail"),
    REGISTER: _l("Signed up"),
    CONFIRM: _l("Confirmed e-mail address"),
    ACCOUNT_LOCKED: _l("Account locked after failed logins"),
}
OBJECT_TYPE_LABELS = {
    "Appointment": _l("Appointment"),
    SERIES: _l("Series"),
    EXCEPTION: _l("Changed occurrence"),
    EXCLUDED_OCCURRENCE: _l("Excluded occurrence"),
    "User": _l("User"),
    "Role": _l("Role"),
}
FIELD_LABELS = {
    "title": _l("Title"),
    "start": _l("Start"),
    "end": _l("End"),
    "all_day": _l("All day"),
    "location": _l("Location"),
    "description": _l("Description"),
    "owner": _l("Owner"),
    "owner_id": _l("Owner"),
    "email": _l("E-mail address"),
    "username": _l("User name"),
    "full_name": _l("Name"),
    "name": _l("Name"),
    "locale": _l("Language"),
    "timezone": _l("Time zone"),
    "active": _l("Active"),
    "confirmed_at": _l("Confirmed"),
    "roles": _l("Roles"),
    "users": _l("Users"),
    "permissions": _l("Permissions"),
    "password": _l("Password"),
    "calendar_token_hash": _l("Calendar feed address"),
    "locked_until": _l("Locked until"),
    "reminder_minutes": _l("Reminder e-mail"),
    "rrule": _l("Repeat rule"),
    "series_timezone": _l("Repeats in time zone"),
    "series_id": _l("Series"),
    "recurrence_id": _l("Original start"),
}

# ---------------------------------------------------------------------------------------------
# The admin view
# ---------------------------------------------------------------------------------------------


def init_filters(app: Flask) -> None:
    """The template filters that name an entry's action and object type in the reader's words."""
    app.add_template_filter(action_label, "audit_action")
    app.add_template_filter(object_type_label, "audit_object_type")
    app.add_template_filter(object_label, "audit_object")


def action_label(action: str) -> str:
    """Name an action in the viewer's language."""
    return str(ACTION_LABELS.get(action, action))


def object_type_label(object_type: str) -> str:
    """Name a kind of object in the viewer's language."""
    return str(OBJECT_TYPE_LABELS.get(object_type, object_type))


def object_label(entry: AuditEntry) -> str:
    """Name the kind of an entry's object in the viewer's language; a changed or excluded
    occurrence with its series, when the entry's values name it."""
    series = _series_named(entry.changes)
    if series and entry.object_type == EXCEPTION:
        return gettext("Changed occurrence of series %(series)s", series=series)
    if series and entry.object_type == EXCLUDED_OCCURRENCE:
        return gettext("Excluded occurrence of series %(series)s", series=series)
    return object_type_label(entry.object_type)


def _series_named(changes: dict | None) -> str:
    """The series an entry's ``series_id`` values name: the new one, else the old one."""
    values = (changes or {}).get("series_id")
    if not isinstance(values, list):
        return ""
    old, new = values
    return new or old


class Change(NamedTuple):
    label: str
    old: str
    new: str
    hidden: bool


def readable_value(value) -> str:
    """A stored value as the reader reads it: a list joined, a time (ISO 8601 in UTC, as the
    log keeps times) on the reader's clock."""
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, str) and STORED_TIME.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return value
        if moment.tzinfo is not None and in_calendar_years(moment.date()):
            return datetime_filter(moment, "short")
    return value


def change_rows(changes: dict | None) -> list[Change]:
    """Turn an entry's stored changes into labelled rows for display."""
    rows = []
    for name, values in (changes or {}).items():
        label = str(FIELD_LABELS.get(name, name.replace("_", " ").capitalize()))
        if values is None:
            rows.append(Change(label, "", "", hidden=True))
        else:
            old, new = (readable_value(value) for value in values)
            rows.append(Change(label, old, new, hidden=False))
    return rows


def _format_created(view, context, model, name) -> str:
    return datetime_filter(model.created, "short")


def _format_created_in_full(view, context, model, name) -> str:
    return datetime_filter(model.created, "full")


def _format_action(view, context, model, name) -> str:
    return action_label(model.action)


def _format_object_type(view, context, model, name) -> str:
    return object_label(model)


def _changes_formatter(limit: int | None):
    """Format an entry's changes as a small table, values cut to ``limit`` characters."""

    def format_changes(view, context, model, name):
        changes_table = get_template_attribute("admin/audit/_changes.html", "changes_table")
        return changes_table(change_rows(model.changes), limit)

    return format_changes


class CreatedBetweenFilter(DateBetweenFilter):
    """Entries made from one day to another, both included, days as the viewer's clock has them."""

    def apply(self, query, value, alias=None):
        first, last = value
        start, end = local_days_in_utc(first, last, user_timezone())
        column = self.get_column(alias)
        return query.filter(column >= start, column < end)


class ObjectHistoryFilter(BaseSQLAFilter):
    """The entries about one object, named as "Appointment:12": the edit and details pages'
    History link (SchedModelView.history_url). Any other value is refused (400). Not offered
    as a box beside the list: it is followed to, not typed."""

    sidebar_box = False

    def validate(self, value: str) -> bool:
        match = HISTORY_VALUE.fullmatch(value)
        return bool(match and match["kind"] in HISTORY_KINDS and int(match["id"]) <= MAX_INT)

    def clean(self, value: str) -> str:
        return value

    def apply(self, query, value, alias=None):
        match = HISTORY_VALUE.fullmatch(value)
        if match is None:  # validate() lets only such values through
            return query.filter(false())
        kinds = HISTORY_KINDS[match["kind"]]
        return query.filter(
            AuditEntry.object_type.in_(kinds), self.get_column(alias) == str(int(match["id"]))
        )

    def operation(self):
        return gettext("is")


class AuditLogView(SchedModelView):
    """The log, newest first, with filters; nobody may create, edit or delete an entry."""

    read_permission = AUDIT_READ
    write_permission = None
    can_view_details = True
    # SchedModelView's page size of 25 must be one of the sizes offered, or Flask-Admin warns.
    page_size_options = (25, 50, 100)

    column_list = (
        "created",
        "actor_email",
        "action",
        "object_type",
        "object_repr",
        "changes",
        "ip",
    )
    column_details_list = (
        "created",
        "actor_email",
        "action",
        "object_type",
        "object_id",
        "object_repr",
        "changes",
        "ip",
    )
    column_labels = {
        "created": _l("When"),
        "actor_email": _l("Who"),
        "action": _l("What"),
        "object_type": _l("Object type"),
        "object_id": _l("Object ID"),
        "object_repr": _l("Object"),
        "changes": _l("Changes"),
        "ip": _l("IP address"),
    }
    column_default_sort = [("created", True), ("id", True)]
    column_sortable_list = ("created", "actor_email", "action", "object_type")
    column_searchable_list = ("object_repr", "actor_email")
    column_filters = (
        FilterLike(AuditEntry.actor_email, _l("Who")),
        FilterEqual(
            AuditEntry.object_type, _l("Object type"), options=list(OBJECT_TYPE_LABELS.items())
        ),
        FilterEqual(AuditEntry.action, _l("What"), options=list(ACTION_LABELS.items())),
        CreatedBetweenFilter(AuditEntry.created, _l("When")),
        ObjectHistoryFilter(AuditEntry.object_id, _l("Object")),
    )
    zoned_columns = ("created",)
    named_filter_urls = True
    column_formatters = {
        "created": _format_created,
        "action": _format_action,
        "object_type": _format_object_type,
        "changes": _changes_formatter(LIST_VALUE_LENGTH),
    }
    column_formatters_detail = {
        **column_formatters,
        "created": _format_created_in_full,
        "changes": _changes_formatter(None),
    }

    def get_filter_arg(self, index, flt) -> str:
        """Name a filter in URLs after its column, which is never translated."""
        return flt.column.key


def add_views(admin) -> None:
    """Add the read-only audit log view to the admin panel."""
    admin.add_view(AuditLogView(AuditEntry, db, name=_l("Audit log"), endpoint="audit"))
