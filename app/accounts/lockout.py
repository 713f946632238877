"""Account lockout: too many failed logins in a row lock the account for a while.

Flask-Security calls ``User.track_failed_authn`` after every wrong password, from any address,
and ``User.is_locked`` once the password was right. A failure adds one to ``failed_logins`` in a
single UPDATE, so concurrent attempts in several workers or hosts are all counted; the one that
reaches ``LOCKOUT_ATTEMPTS`` sets ``locked_until`` (a conditional UPDATE: exactly one request
wins, and only it e-mails the owner). A successful login sets the count back to zero.

While locked, the right password is refused with the same answer as a wrong one (the login page
never tells whether an address has an account), the owner gets one e-mail, and a password reset
or an admin ("Unlock" in the user list) ends the lock at once.

A logged-in account's password checks count the same: re-authenticating (``/verify``) and the
current password on ``/change`` (app/accounts/forms.py). Someone holding the session (a stolen
cookie, an unlocked laptop) guesses no faster than at the login page. While the account is
locked, those two refuse any password with the answer a wrong one gets, checking nothing, and
the session that tried is logged out: it would not get in again either.
"""

from __future__ import annotations

import functools
from datetime import timedelta
from typing import cast

from flask import Flask, current_app, has_request_context, render_template, request, url_for
from flask_babel import gettext as _
from flask_mailman import EmailMessage
from flask_security import current_user, logout_user
from flask_security.signals import password_reset, user_authenticated
from flask_security.utils import get_message
from sqlalchemy import CursorResult, or_, update
from wtforms import Field

from app.accounts.models import User
from app.accounts.signals import account_locked
from app.core.db import now_utc
from app.core.i18n import in_language_of
from app.core.mail import send_after_response
from app.extensions import db

# Endpoints where a locked account may still act: asking for a reset is the way out of a lock.
UNLOCKING_ENDPOINTS = frozenset({"security.forgot_password", "security.reset_password"})
# Where a logged-in account's password is checked: refused while locked, and logged out.
PASSWORD_CHECK_ENDPOINTS = frozenset({"security.verify", "security.change_password"})


def lock_duration() -> timedelta:
    return current_app.config["LOCKOUT_DURATION"]


def is_locked(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > now_utc()


def refuses_login(user: User, form_error: list[str] | None = None) -> bool:
    """Tell Flask-Security whether a locked account must be refused here (``User.is_locked``).

    The reason goes on the form's address field, where Flask-Security replaces it with the
    answer a wrong password gets (SECURITY_RETURN_GENERIC_RESPONSES).
    """
    if has_request_context() and request.endpoint in UNLOCKING_ENDPOINTS:
        return False
    if not is_locked(user):
        return False
    if form_error is not None:
        form_error.append(_("This account is locked for a while after too many failed logins."))
    return True


def refuses_password_check(user: User, password: Field) -> bool:
    """Refuse a logged-in account's password check (/verify, /change) while it is locked.

    Nothing typed is checked, so the answer tells nothing about it: the password field gets
    Flask-Security's message for a wrong password, and the request's session is logged out
    afterwards (``_logging_out_when_locked``).
    """
    if not is_locked(user):
        return False
    password.errors = [*password.errors, get_message("INVALID_PASSWORD")[0]]
    return True


def record_failure(user: User) -> None:
    """Count a failed login; the one that reaches the limit locks the account and tells its owner.

    Failures while the account is locked are not counted: the lock already holds, and the count
    starts again from zero when it ends.
    """
    now = now_utc()
    not_locked = or_(User.locked_until.is_(None), User.locked_until <= now)
    failures = db.session.execute(
        update(User)
        .where(User.id == user.id, not_locked)
        .values(failed_logins=User.failed_logins + 1)
        .returning(User.failed_logins)
        .execution_options(synchronize_session=False)
    ).scalar()
    locked = False
    if failures is not None and failures >= current_app.config["LOCKOUT_ATTEMPTS"]:
        locked_until = now + lock_duration()
        result = cast(
            CursorResult,
            db.session.execute(
                update(User)
                .where(User.id == user.id, not_locked)
                .values(locked_until=locked_until, failed_logins=0)
                .execution_options(synchronize_session=False)
            ),
        )
        locked = result.rowcount == 1
    # The login view commits only on success; the count must stay whatever the answer.
    db.session.commit()
    if locked:
        db.session.refresh(user)
        _record_lock(user)
        send_lockout_notice(user)


def unlock(user: User) -> bool:
    """End a lock (and forget past failures); return whether there was one."""
    was_locked = is_locked(user)
    user.locked_until = None
    user.failed_logins = 0
    return was_locked


def send_lockout_notice(user: User) -> None:
    """Tell the owner, in their language, that their account is locked and how to get back in."""
    minutes = int(lock_duration().total_seconds() // 60)
    with in_language_of(user):
        subject = _("Your sched account is locked for a while")
        body = render_template(
            "accounts/email/locked.txt",
            user=user,
            attempts=current_app.config["LOCKOUT_ATTEMPTS"],
            minutes=minutes,
            reset_url=url_for("security.forgot_password", _external=True),
        )
    send_after_response(EmailMessage(subject=subject, body=body, to=[user.email]))


def _record_lock(user: User) -> None:
    app = current_app._get_current_object()  # type: ignore[attr-defined]  # a LocalProxy
    account_locked.send(app, user=user)
    db.session.commit()  # what the receivers recorded (the audit log's entry)


def _on_login(sender, user, **extra) -> None:
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins = 0
        user.locked_until = None  # committed with the login


def _on_password_reset(sender, user, **extra) -> None:
    unlock(user)  # committed with the new password


def _logging_out_when_locked(view):
    """Wrap a password-checking view: a POST that leaves the account locked (it was, or this
    failure locked it) ends the session, once the answer is made."""

    @functools.wraps(view)
    def check_password(*args, **kwargs):
        response = view(*args, **kwargs)
        if request.method == "POST" and current_user.is_authenticated and is_locked(current_user):
            logout_user()  # the session's row goes too (app/accounts/sessions.py)
        return response

    return check_password


def init_lockout(app: Flask) -> None:
    """Count and lock; call after Flask-Security has registered its views."""
    # Connected per app: blinker holds the app weakly, so receivers go away with it.
    user_authenticated.connect(_on_login, sender=app)
    password_reset.connect(_on_password_reset, sender=app)
    for endpoint in PASSWORD_CHECK_ENDPOINTS:
        view = app.view_functions.get(endpoint)
        if view is not None:  # the feature is turned off
            # functools.wraps keeps the name Flask-Limiter finds the view's limits by.
            app.view_functions[endpoint] = _logging_out_when_locked(view)
