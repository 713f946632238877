"""Sessions kept on the server, so that logging out, or changing the password, ends them for good.

The signed session cookie names the logged-in user (Flask-Login's ``_user_id``, the user's
fs_uniquifier). On its own it would keep working until that uniquifier changes: a copy taken
before logging out would still log its holder in. So each login also puts a random session id
in the cookie (``sid``) and a ``UserSession`` row with the id's SHA-256 in the database, and a
request is served to the logged-in user only while that row exists, belongs to the same user
and is younger than PERMANENT_SESSION_LIFETIME; otherwise the session is logged out on the spot
and the request is a visitor's. One primary-key look-up per request, no write.

- Logging out deletes the session's row.
- Changing the password deletes the user's other rows; resetting it (or an admin ending the
  user's sessions) deletes them all. Flask-Security rotates ``fs_uniquifier`` as well.
- "Remember me" makes the session cookie permanent (it outlives the browser, for
  PERMANENT_SESSION_LIFETIME) instead of setting Flask-Login's remember cookie, which would log
  its holder in again with no row to end. A remember cookie that arrives anyway (one set before
  sessions lived on the server) is refused and deleted.
- Rows older than PERMANENT_SESSION_LIFETIME no longer count; a user's are deleted at login,
  everyone's by ``flask purge-sessions`` (uWSGI's cron runs it daily).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import cast

from flask import Flask, after_this_request, current_app, has_request_context, request, session
from flask_login import user_logged_in, user_logged_out
from flask_login.config import COOKIE_NAME as DEFAULT_REMEMBER_COOKIE_NAME
from flask_security.signals import password_changed, password_reset
from sqlalchemy import CursorResult, and_, delete, or_

from app.accounts.models import User, UserSession
from app.core.db import now_utc
from app.extensions import db

# The session id's key in the Flask session.
SESSION_ID_KEY = "sid"
# What a login leaves in the Flask session: Flask-Login's keys, Flask-Security's time of the
# password check, and ours. A session the server has ended loses them all.
LOGIN_KEYS = ("_user_id", "_fresh", "_id", "fs_paa", SESSION_ID_KEY)


def init_sessions(app: Flask) -> None:
    """Check every session-loaded user against the server; start and end sessions with logins."""
    login_manager = app.login_manager  # type: ignore[attr-defined]  # set by security.init_app
    login_manager.user_loader(_checking_session(login_manager.user_callback))
    # Flask-Security also logs in whoever sends an auth token (a JSON login hands one out),
    # on every page: no session row, so logging out or a lock would not end it. The site has
    # no API that needs one (yet); sessions are the only way in.
    login_manager.request_loader(_no_token_logins)
    # Connected per app: blinker holds the app weakly, so receivers go away with it.
    user_logged_in.connect(_on_login, sender=app)
    user_logged_out.connect(_on_logout, sender=app)
    password_changed.connect(_on_password_changed, sender=app)
    password_reset.connect(_on_password_reset, sender=app)


def _no_token_logins(request) -> None:
    """Flask-Login's request loader: nobody is logged in by a token."""
    return None


def end_sessions(user: User, except_current: bool = False) -> None:
    """Log ``user`` out everywhere (but in this request's session, if asked); the caller commits."""
    statement = delete(UserSession).where(UserSession.user_id == user.id)
    current = _current_row_id() if except_current and has_request_context() else None
    if current is not None:
        statement = statement.where(UserSession.id != current)
    db.session.execute(statement)


# ---------------------------------------------------------------------------------------------
# Loading the user of a request
# ---------------------------------------------------------------------------------------------


def purge_expired_sessions() -> int:
    """Delete every session row older than PERMANENT_SESSION_LIFETIME, also those of users who
    never log in again; return how many went."""
    result = cast(
        CursorResult,
        db.session.execute(
            delete(UserSession).where(UserSession.created_at <= _oldest_live_start())
        ),
    )
    db.session.commit()
    return result.rowcount


def _checking_session(load_user):
    """Wrap Flask-Security's user loader: a session the server has ended loads nobody."""

    def load_user_of_live_session(user_id: str):
        row = _live_row()
        user = load_user(user_id) if row is not None else None
        if row is None or user is None or user.id != row.user_id:
            _forget_login()
            return None
        return user

    return load_user_of_live_session


def _live_row() -> UserSession | None:
    row_id = _current_row_id()
    if row_id is None:
        return None
    row = db.session.get(UserSession, row_id)
    if row is None or row.created_at <= _oldest_live_start():
        return None
    return row


def _forget_login() -> None:
    """Log this session out without the user: clear the login and any remember cookie."""
    for key in LOGIN_KEYS:
        session.pop(key, None)
    if _remember_cookie_name() in request.cookies:
        session["_remember"] = "clear"  # Flask-Login deletes the cookie on the response


# ---------------------------------------------------------------------------------------------
# Starting and ending sessions (Flask-Login's and Flask-Security's signals)
# ---------------------------------------------------------------------------------------------


def _on_login(sender, user: User, **extra) -> None:
    """Give the login a new session id, kept on the server; remember-me makes it permanent."""
    old_row_id = _current_row_id()
    remember = session.pop("_remember", None) == "set"
    session.pop("_remember_seconds", None)
    if _remember_cookie_name() in request.cookies:
        session["_remember"] = "clear"
    if remember:
        session.permanent = True
    elif old_row_id is None:
        # A login again within a live session (after a password change) keeps its kind.
        session.permanent = False

    stale = and_(UserSession.user_id == user.id, UserSession.created_at <= _oldest_live_start())
    if old_row_id is not None:
        stale = or_(stale, UserSession.id == old_row_id)
    db.session.execute(delete(UserSession).where(stale))
    session_id = secrets.token_urlsafe(32)
    session[SESSION_ID_KEY] = session_id
    db.session.add(UserSession(id=_row_id(session_id), user_id=user.id))
    # Flask-Security's views commit after a login; a login elsewhere must be kept too.
    after_this_request(_commit)


def _on_logout(sender, user, **extra) -> None:
    row_id = _current_row_id()
    session.pop(SESSION_ID_KEY, None)
    if row_id is not None:
        db.session.execute(delete(UserSession).where(UserSession.id == row_id))
        after_this_request(_commit)  # Flask-Security's logout view does not commit


def _on_password_changed(sender, user: User, **extra) -> None:
    # Flask-Security has logged the current session in again (a new row) before this signal.
    end_sessions(user, except_current=True)


def _on_password_reset(sender, user: User, **extra) -> None:
    end_sessions(user)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _row_id(session_id: str) -> str:
    """The row's key: the session id's SHA-256, so a copy of the table logs nobody in."""
    return hashlib.sha256(session_id.encode()).hexdigest()


def _current_row_id() -> str | None:
    session_id = session.get(SESSION_ID_KEY)
    return _row_id(session_id) if isinstance(session_id, str) else None


def _oldest_live_start() -> datetime:
    """Sessions that started at or before this moment have expired."""
    return now_utc() - current_app.permanent_session_lifetime


def _remember_cookie_name() -> str:
    return current_app.config.get("REMEMBER_COOKIE_NAME", DEFAULT_REMEMBER_COOKIE_NAME)


def _commit(response):
    db.session.commit()
    return response
