"""Users and roles, on Flask-Security's SQLAlchemy 2 mixins."""

from __future__ import annotations

import secrets

from flask_security.models import sqla as fs_models
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, now_utc
from app.extensions import db

fs_models.FsModels.set_db_info(base_model=db.Model)

ROLE_ADMIN = "admin"
ROLE_STAFF = "staff"
ROLE_TRANSLATOR = "translator"

# Permissions, granted to roles in the database (migration 0003); code checks these, not roles.
ADMIN_PANEL = "admin-panel"
APPOINTMENTS_MANAGE = "appointments-manage"
USERS_READ = "users-read"
USERS_MANAGE = "users-manage"
ROLES_MANAGE = "roles-manage"
AUDIT_READ = "audit-read"
# Every language's catalog; a role may instead get translate-<language> for some (translate-fr).
TRANSLATE = "translate"
ROLE_PERMISSIONS = {
    ROLE_ADMIN: [
        ADMIN_PANEL, APPOINTMENTS_MANAGE, USERS_READ, USERS_MANAGE, ROLES_MANAGE, AUDIT_READ,
        TRANSLATE,
    ],
    ROLE_STAFF: [ADMIN_PANEL, APPOINTMENTS_MANAGE, USERS_READ, AUDIT_READ],
    ROLE_TRANSLATOR: [ADMIN_PANEL, TRANSLATE],
}


def translate_permission(language: str) -> str:
    """The permission to translate one language only."""
    return f"{TRANSLATE}-{language}"


class Role(db.Model, fs_models.FsRoleMixin):
    __tablename__ = "role"

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class User(db.Model, fs_models.FsUserMixin):
    __tablename__ = "user"

    full_name: Mapped[str] = mapped_column(String(255), default="")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # The secret in the user's private calendar feed URL; replacing it revokes the old URL.
    calendar_token: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(32)
    )
    # The longest appointment the user has ever had, in seconds: calendar queries look this far
    # back for appointments that began earlier and still run (see scheduling.models).
    longest_appointment_seconds: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0"
    )
    # The reminder new appointments start with, in minutes before the start (None: none).
    reminder_minutes_default: Mapped[int | None] = mapped_column(default=None)
    # Failed logins since the last success or lockout; at the limit the account is locked
    # until locked_until (app/accounts/lockout.py).
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    # Flask-Security's lockout hooks (app/accounts/lockout.py).
    def track_failed_authn(self, auth_type: str, tfa: bool = False) -> None:
        from app.accounts import lockout

        super().track_failed_authn(auth_type, tfa)  # the user_failed_authn signal: audit log
        lockout.record_failure(self)

    def is_locked(self, form_error: list[str] | None = None) -> bool:
        from app.accounts import lockout

        return lockout.refuses_login(self, form_error)

    def regenerate_calendar_token(self) -> None:
        self.calendar_token = secrets.token_urlsafe(32)

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserSession(db.Model):
    """A logged-in browser session, kept on the server so that it can be ended for good.

    The session cookie carries a random id; this table keeps only its SHA-256 (``id``), so a
    copy of the table logs no one in. Logging out deletes the row, and a cookie whose row is
    gone no longer logs anyone in (app/accounts/sessions.py).
    """

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
