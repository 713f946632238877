"""Users and roles, on Flask-Security's SQLAlchemy 2 mixins."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from flask_security.models import sqla as fs_models
from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.core.db import UTCDateTime, now_utc
from app.extensions import Model, db

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
        ADMIN_PANEL,
        APPOINTMENTS_MANAGE,
        USERS_READ,
        USERS_MANAGE,
        ROLES_MANAGE,
        AUDIT_READ,
        TRANSLATE,
    ],
    ROLE_STAFF: [ADMIN_PANEL, APPOINTMENTS_MANAGE, USERS_READ, AUDIT_READ],
    ROLE_TRANSLATOR: [ADMIN_PANEL, TRANSLATE],
}


def calendar_token_digest(token: str) -> str:
    """The SHA-256 of a calendar feed token, as the database keeps it (hex, 64 characters)."""
    return hashlib.sha256(token.encode()).hexdigest()


def translate_permission(language: str) -> str:
    """The permission to translate one language only."""
    return f"{TRANSLATE}-{language}"


class Role(Model, fs_models.FsRoleMixin):
    __tablename__ = "role"

    def __repr__(self) -> str:
        return f"<Role {self.name}>"


class User(Model, fs_models.FsUserMixin):
    """An account, with its profile and the secret of its calendar feed.

    The calendar feed's address ends in a random token: whoever knows it reads the user's
    appointments without logging in, as calendar programs must. The database keeps only the
    token's SHA-256 (``calendar_token_hash``), as it does for session ids, and the feed is
    looked up by that hash, so a copy of the database, a backup or the admin panel opens no
    feed. A plain hash suffices: the token has 256 random bits, which no guess or table of
    hashes finds, and checking it needs no slow key derivation on every poll.

    The address is therefore shown once, on the page that makes it, like a GitHub token or a
    Nextcloud app password, and never again: nothing on the server can rebuild it. (Google
    Calendar shows its "secret address" on demand, which needs a server that can read the
    secret back: the kind of storage the pen test objected to.) A user without an address, or
    who has lost it, makes a new one on the profile page; the old one stops working at once.
    New accounts have none until they ask; addresses made before hashing (migration 0011)
    keep working, and are not shown either.
    """

    __tablename__ = "user"

    full_name: Mapped[str] = mapped_column(String(255), default="")
    locale: Mapped[str] = mapped_column(String(16), default="en")
    # The zone it was changed from is kept even when not loaded before (active_history): the
    # user's all-day appointments move with it to stay on their days (app/scheduling/models.py).
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", active_history=True)
    # The SHA-256 of the secret in the user's calendar feed address; None: no address yet.
    calendar_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    # The longest appointment the user has ever had, in seconds: calendar queries look this far
    # back for appointments that began earlier and still run (see scheduling.models).
    longest_appointment_seconds: Mapped[int] = mapped_column(
        BigInteger, default=0, server_default="0"
    )
    # When the user's calendar last changed: an appointment written or deleted, or the name or
    # zone its feed shows (kept by a flush hook in app/scheduling/models.py).
    calendar_changed: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
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

    def regenerate_calendar_token(self) -> str:
        """Give the user a new calendar feed address, revoking the old one; return its token.

        The token is kept nowhere: show it now or never (see the class docstring).
        """
        token = secrets.token_urlsafe(32)
        self.calendar_token_hash = calendar_token_digest(token)
        return token

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email}>"


class UserSession(Model):
    """A logged-in browser session, kept on the server so that it can be ended for good.

    The session cookie carries a random id; this table keeps only its SHA-256 (``id``), so a
    copy of the table logs no one in. Logging out deletes the row, and a cookie whose row is
    gone no longer logs anyone in (app/accounts/sessions.py).
    """

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=now_utc)
