"""The audit log's records: changes made in the admin panel, field by field, and account events
(logins, failed logins, password changes...), each with who, when and from where.

Features tell what happened through signals, which this module listens to (Flask-Security's for
logins and passwords, app/accounts/signals.py for a locked account); the admin panel records its
changes here and shows the log (app/admin/audit.py). Secrets never reach it.

Appointments are recorded as what they are: a single one, a series, or a changed occurrence of a
series (its series and original start among its values); an occurrence deleted from a series is
an excluded occurrence of its own. Editing a series can change many rows at once, flushed on the
way (app/scheduling/series.py): ``changes_recorded`` records each of them as it is written.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

from flask import Flask, after_this_request, has_request_context, request
from flask_security import current_user
from flask_security.signals import (
    password_changed,
    password_reset,
    reset_password_instructions_sent,
    user_authenticated,
    user_confirmed,
    user_failed_authn,
    user_registered,
)
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import Mapper, RelationshipDirection, Session
from sqlalchemy.orm.base import NO_VALUE

from app.accounts.signals import account_locked
from app.audit.models import AuditEntry
from app.extensions import db
from app.scheduling.models import Appointment, ExcludedOccurrence

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
LOGIN = "login"
LOGIN_FAILED = "login_failed"
PASSWORD_CHANGE = "password_change"
PASSWORD_RESET = "password_reset"
PASSWORD_RESET_SENT = "password_reset_sent"
REGISTER = "register"
CONFIRM = "confirm"
ACCOUNT_LOCKED = "account_locked"

# What an entry's object was, besides its class name: an appointment that is (or was, before the
# change) a series, or a changed occurrence of one.
SERIES = "Series"
EXCEPTION = "Exception"
EXCLUDED_OCCURRENCE = "ExcludedOccurrence"

# Secrets never reach the log; a change to one in NOTED_SECRETS is noted, without its values.
SECRET_FIELDS = frozenset({"password", "calendar_token_hash", "webauthn"})
SECRET_PREFIXES = ("fs_", "tf_", "us_", "mf_")
NOTED_SECRETS = frozenset({"password", "calendar_token_hash"})
# Bookkeeping the database keeps by itself; the entry has its own time.
UNAUDITED_FIELDS = frozenset(
    {
        "created",
        "modified",
        "create_datetime",
        "update_datetime",
        "longest_appointment_seconds",
        "version",
        "failed_logins",
        "idempotency_key",
        "series_end",
        # When the next reminder is due and when one went out: kept by the scheduling package
        # from the start and the lead time, which are recorded.
        "remind_at",
        "reminder_sent_at",
    }
)
# The attribute that names an object for people, first one present wins.
READABLE_ATTRIBUTES = ("title", "email", "name")


# ---------------------------------------------------------------------------------------------
# Recording
# ---------------------------------------------------------------------------------------------


def record_change(model, created: bool) -> None:
    """Record a create or an update made in the admin panel, before it is committed.

    The form has already been copied onto ``model``; the old values of an update are in
    SQLAlchemy's attribute history. An update that changes nothing is not recorded.
    """
    if created:
        db.session.flush()  # the new row's id
        with db.session.no_autoflush:
            values = _snapshot(model, loaded_only=True)
        _add_entry(CREATE, model, _created_values(values))
        return
    with db.session.no_autoflush:
        changes = _differences(model)
    if changes:
        _add_entry(UPDATE, model, changes)


def record_delete(model) -> None:
    """Record a delete done in the admin panel."""
    with db.session.no_autoflush:
        values = _snapshot(model, loaded_only=False)
    _add_entry(DELETE, model, _deleted_values(values))


def describe(obj) -> str:
    """Name an object for people: an appointment's title, a user's e-mail, a role's name, an
    excluded occurrence's series' title."""
    if isinstance(obj, ExcludedOccurrence):
        series = db.session.get(Appointment, obj.series_id)
        if series is not None:
            return describe(series)
    for name in READABLE_ATTRIBUTES:
        value = getattr(obj, name, None)
        if value:
            return str(value)
    return f"{type(obj).__name__} {_identity(obj)}"


@contextmanager
def changes_recorded(*recorded) -> Iterator[None]:
    """Record every row the session creates, changes or deletes meanwhile, each as the admin
    panel's hooks record one: for operations that write several rows and flush on the way
    (splitting a series, deleting one of its occurrences, moving its exceptions).

    ``recorded``: objects whose changes were recorded already (by record_change), left out.
    On leaving, the session is flushed, so that what is still pending is recorded too; the
    entries join the session then. Bulk statements (``session.execute(delete(...))``) pass the
    session's objects by, and are not recorded.
    """
    session = db.session()
    recorder = _Recorder(recorded)
    event.listen(session, "before_flush", recorder.before_flush)
    event.listen(session, "after_flush_postexec", recorder.after_flush_postexec)
    try:
        yield
        session.flush()
    finally:
        event.remove(session, "before_flush", recorder.before_flush)
        event.remove(session, "after_flush_postexec", recorder.after_flush_postexec)
    session.add_all(_without_undone(recorder.entries))


class _Recorder:
    """The entries for what the session flushes: updates and deletes read before the flush,
    while the old values are there; creates after it, when the new rows have their keys."""

    def __init__(self, recorded: Iterable) -> None:
        self.recorded = list(recorded)
        self.entries: list[AuditEntry] = []
        self.created: list = []

    def _leaves_out(self, obj) -> bool:
        return isinstance(obj, AuditEntry) or any(obj is done for done in self.recorded)

    def before_flush(self, session: Session, flush_context, instances) -> None:
        with session.no_autoflush:
            for obj in list(session.dirty):
                if not self._leaves_out(obj) and (changes := _differences(obj)):
                    self.entries.append(_new_entry(UPDATE, obj, changes))
            for obj in list(session.deleted):
                if not self._leaves_out(obj):
                    values = _snapshot(obj, loaded_only=False)
                    self.entries.append(_new_entry(DELETE, obj, _deleted_values(values)))
        self.created += [obj for obj in session.new if not self._leaves_out(obj)]

    def after_flush_postexec(self, session: Session, flush_context) -> None:
        created, self.created = self.created, []
        with session.no_autoflush:
            for obj in created:
                if inspect(obj).persistent:  # not taken out of the session before the flush
                    values = _snapshot(obj, loaded_only=True)
                    self.entries.append(_new_entry(CREATE, obj, _created_values(values)))


def _without_undone(entries: list[AuditEntry]) -> list[AuditEntry]:
    """Leave out each row deleted and created again as it was (a series' excluded occurrences,
    which a change of its rule writes anew): nothing changed."""
    kept = list(entries)
    for deleted in [entry for entry in entries if entry.action == DELETE]:
        again = next(
            (
                entry
                for entry in kept
                if entry.action == CREATE
                and (entry.object_type, entry.object_id) == (deleted.object_type, deleted.object_id)
                and _side(entry, 1) == _side(deleted, 0)
            ),
            None,
        )
        if again is not None:
            kept.remove(deleted)
            kept.remove(again)
    return kept


def _side(entry: AuditEntry, index: int) -> dict:
    """An entry's old (0) or new (1) values."""
    return {name: None if pair is None else pair[index] for name, pair in entry.changes.items()}


def _created_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _pair("", value) for name, value in values.items()}


def _deleted_values(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _pair(value, "") for name, value in values.items()}


def _add_entry(action: str, obj=None, changes: dict | None = None, actor=None) -> AuditEntry:
    """Add an entry to the session; the logged-in user is the actor, else ``actor``."""
    if obj is not None and inspect(obj).identity is None:
        db.session.flush()  # a new account's id, from a sign-up
    entry = _new_entry(action, obj, changes, actor)
    db.session.add(entry)
    return entry


def _new_entry(action: str, obj=None, changes: dict | None = None, actor=None) -> AuditEntry:
    """Make an entry about ``obj``, which has its key; the logged-in user is the actor, else
    ``actor``."""
    if has_request_context() and current_user.is_authenticated:
        actor = current_user._get_current_object()
    entry = AuditEntry(
        action=action,
        actor_id=actor.id if actor is not None else None,
        actor_email=(actor.email or "")[:255] if actor is not None else "",
        ip=(request.remote_addr or "")[:64] if has_request_context() else "",
        changes=changes or {},
    )
    if obj is not None:
        entry.object_type = _object_type(obj, entry.changes)[:64]
        entry.object_id = _identity(obj)[:64]
        entry.object_repr = describe(obj)[:255]
    return entry


def _object_type(obj, changes: dict) -> str:
    """The kind of object an entry is about: its class's name; for an appointment that is, or
    was before this change, a series or a changed occurrence, that."""
    if isinstance(obj, Appointment):
        if _is_or_was_set(obj, "rrule", changes):
            return SERIES
        if _is_or_was_set(obj, "series_id", changes):
            return EXCEPTION
    return type(obj).__name__


def _is_or_was_set(obj, name: str, changes: dict) -> bool:
    return getattr(obj, name) is not None or any(changes.get(name) or ())


def _identity(obj) -> str:
    identity = inspect(obj).identity
    return ",".join(str(_as_text(part)) for part in identity) if identity else ""


def _audited_attributes(mapper: Mapper, with_foreign_keys: bool) -> Iterable[str]:
    """Yield the names of the columns and relationships worth recording, secrets excluded.

    Foreign keys behind a many-to-one relationship are left to the relationship, which reads
    better (an owner's e-mail rather than a number), unless ``with_foreign_keys``: code that
    sets the key directly leaves the relationship's history empty.
    """
    foreign_keys = {
        column
        for rel in mapper.relationships
        if rel.direction is RelationshipDirection.MANYTOONE
        for column in rel.local_columns
    }
    # A key of one column is a number, the entry's object id; the parts of a key of several
    # (an excluded occurrence's series and start) are what the row says.
    surrogate_key = len(mapper.primary_key) == 1
    for attribute in mapper.column_attrs:
        columns = attribute.columns
        if surrogate_key and any(column.primary_key for column in columns):
            continue
        if not with_foreign_keys and any(column in foreign_keys for column in columns):
            continue
        if _is_audited(attribute.key):
            yield attribute.key
    for relationship in mapper.relationships:
        # One-to-many children are audited as objects of their own.
        if relationship.viewonly or relationship.direction is RelationshipDirection.ONETOMANY:
            continue
        if _is_audited(relationship.key):
            yield relationship.key


def _is_audited(name: str) -> bool:
    if name in UNAUDITED_FIELDS:
        return False
    if name.startswith(SECRET_PREFIXES):
        return False
    return name not in SECRET_FIELDS or name in NOTED_SECRETS


def _snapshot(model, loaded_only: bool) -> dict[str, Any]:
    """Return the object's non-empty values as display strings (lists for collections).

    A secret that is set shows as None. ``loaded_only`` skips values the database has yet to
    send (server defaults after an insert) instead of querying for them.
    """
    state = inspect(model)
    values: dict[str, Any] = {}
    for name in _audited_attributes(state.mapper, with_foreign_keys=False):
        value = state.attrs[name].loaded_value if loaded_only else getattr(model, name)
        if value is NO_VALUE or value is None:
            continue
        if name in NOTED_SECRETS:
            values[name] = None
        elif (text := _as_text(value)) not in ("", []):
            values[name] = text
    return values


def _pair(old, new) -> list | None:
    """Store old and new values as a pair; a hidden secret (None on either side) as None."""
    return None if old is None or new is None else [old, new]


def _differences(model) -> dict[str, Any]:
    """Return ``{field: [old, new]}`` for every changed field, from the attribute history."""
    state = inspect(model)
    relationships = state.mapper.relationships
    histories = {
        name: history
        for name in _audited_attributes(state.mapper, with_foreign_keys=True)
        if (history := state.attrs[name].history).has_changes()
    }
    # An attribute set while expired (after a commit, say) has no old value in its history.
    unloaded = [
        name
        for name, history in histories.items()
        if not (history.deleted or history.unchanged)
        and name not in NOTED_SECRETS
        and not (name in relationships and relationships[name].uselist)
    ]
    stored = _stored_values(model, unloaded)
    changes: dict[str, Any] = {}
    for name, history in histories.items():
        if name in NOTED_SECRETS:
            changes[name] = None
            continue
        if name in relationships and relationships[name].uselist:
            old = _as_text([*history.unchanged, *history.deleted])
            new = _as_text([*history.unchanged, *history.added])
        else:
            old = _as_text(stored[name] if name in stored else (history.deleted or [None])[0])
            new = _as_text((history.added or [None])[0])
        if old != new:
            changes[name] = [old, new]
    return changes


def _stored_values(model, names: list[str]) -> dict[str, Any]:
    """Read from the database, in one query, the values an update replaces but never loaded."""
    if not names:
        return {}
    state = inspect(model)
    mapper = state.mapper
    columns = {}
    for name in names:
        prop = mapper.attrs[name]
        local = prop.local_columns if name in mapper.relationships else prop.columns
        if len(local) == 1:
            columns[name] = next(iter(local))
    if not columns:
        return {}
    row = db.session.execute(
        select(*columns.values()).where(
            *(
                column == value
                for column, value in zip(mapper.primary_key, state.identity, strict=True)
            )
        )
    ).one_or_none()
    if row is None:
        return {}
    values = dict(zip(columns, row, strict=True))
    for name, value in values.items():
        if name in mapper.relationships and value is not None:
            values[name] = db.session.get(mapper.relationships[name].mapper.class_, value)
    return values


def _as_text(value) -> str | list[str]:
    """Render a value for the log: ISO 8601 in UTC for times, "" for None, names for objects."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:  # Flask-Security's own columns hold naive UTC
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, db.Model):
        return describe(value)
    if isinstance(value, (list, tuple, set, frozenset)):
        texts: list[Any] = [_as_text(item) for item in value]  # texts, or lists for nested ones
        return sorted(texts) if any(isinstance(item, db.Model) for item in value) else texts
    return str(value)


# ---------------------------------------------------------------------------------------------
# Account events (Flask-Security signals)
# ---------------------------------------------------------------------------------------------


def init_audit(app: Flask) -> None:
    """Connect the account signals (logins, failed logins, password changes, locks) to the log."""
    # Connected per app: blinker holds the app weakly, so receivers go away with it.
    user_authenticated.connect(_on_login, sender=app)
    user_failed_authn.connect(_on_failed_login, sender=app)
    password_changed.connect(_on_password_changed, sender=app)
    password_reset.connect(_on_password_reset, sender=app)
    reset_password_instructions_sent.connect(_on_reset_sent, sender=app)
    user_registered.connect(_on_registered, sender=app)
    user_confirmed.connect(_on_confirmed, sender=app)
    account_locked.connect(_on_account_locked, sender=app)


def _on_login(sender, user, authn_via=None, **extra) -> None:
    # Changing a password logs its owner in again; the change is recorded on its own.
    if authn_via and "change" in authn_via:
        return
    _add_entry(LOGIN, user, actor=user)


def _on_failed_login(sender, user, auth_type=None, tfa=False, **extra) -> None:
    # Whoever tried is not known; the entry names the account they tried to enter.
    _add_entry(LOGIN_FAILED, user)
    if has_request_context():
        after_this_request(_commit)  # the login view commits only on success


def _on_password_changed(sender, user, **extra) -> None:
    _add_entry(PASSWORD_CHANGE, user, actor=user)


def _on_password_reset(sender, user, **extra) -> None:
    _add_entry(PASSWORD_RESET, user, actor=user)


def _on_reset_sent(sender, user, **extra) -> None:
    # Asked for on the login page by anyone, or sent by an admin; never the token.
    _add_entry(PASSWORD_RESET_SENT, user)
    if has_request_context():
        after_this_request(_commit)  # the forgotten-password view does not commit


def _on_registered(sender, user, **extra) -> None:
    _add_entry(REGISTER, user, actor=user)


def _on_confirmed(sender, user, **extra) -> None:
    _add_entry(CONFIRM, user, actor=user)


def _on_account_locked(sender, user, **extra) -> None:
    _add_entry(ACCOUNT_LOCKED, user)  # committed by the lockout


def _commit(response):
    db.session.commit()
    return response
