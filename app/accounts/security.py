"""Flask-Security wiring: the user datastore and our forms."""

from __future__ import annotations

from typing import cast

from flask import Flask, current_app, g, has_request_context, session
from flask_login import user_logged_in
from flask_security import (
    SQLAlchemyUserDatastore,
    hash_password,
    naive_utcnow,
    reset_password_instructions_sent,
)

from app.accounts.forms import (
    ChangeOwnPasswordForm,
    ConfirmRequestForm,
    LogInForm,
    NewPasswordForm,
    ReauthenticateForm,
    RegisterForm,
    ResetRequestForm,
)
from app.accounts.messages import use_sched_messages
from app.accounts.models import Role, User
from app.extensions import db, security


class UserDatastore(SQLAlchemyUserDatastore):
    def create_user(self, **kwargs) -> User:
        """Create a user; an active account made outside a web request counts as confirmed.

        Such accounts come from an operator (``flask users create --active``, ``flask
        seed-demo``), who vouches for the address, so they can log in at once.
        """
        if kwargs.get("active") and not has_request_context():
            kwargs.setdefault("confirmed_at", naive_utcnow())
        return cast(User, super().create_user(**kwargs))  # the datastore's user_model


user_datastore = UserDatastore(db, User, Role)


def _new_csrf_token_at_login(sender, user, **extra) -> None:
    """Forget the CSRF token of the anonymous session: one minted before logging in (which a
    page of someone else's may have seen) does not act for the logged-in user."""
    field = current_app.config["WTF_CSRF_FIELD_NAME"]
    session.pop(field, None)
    g.pop(field, None)


def _match_the_unknown_address_answer(sender, **extra) -> None:
    """Spend on a real account's reset request the password hash that Flask-Security spends on
    an unknown address's, so the two answers take as long (SECURITY_HASHING_SCHEMES makes the
    link itself cheap; the e-mail goes out after the answer, app/core/mail.py)."""
    hash_password("not-a-password")


def init_security(app: Flask) -> None:
    from app.accounts.lockout import init_lockout
    from app.accounts.ratelimits import init_rate_limits
    from app.accounts.sessions import init_sessions

    use_sched_messages(app)
    security.init_app(
        app,
        user_datastore,
        login_form=LogInForm,
        register_form=RegisterForm,
        reset_password_form=NewPasswordForm,
        forgot_password_form=ResetRequestForm,
        send_confirmation_form=ConfirmRequestForm,
        verify_form=ReauthenticateForm,
        change_password_form=ChangeOwnPasswordForm,
    )
    reset_password_instructions_sent.connect(_match_the_unknown_address_answer, sender=app)
    user_logged_in.connect(_new_csrf_token_at_login, sender=app)
    init_rate_limits(app)
    init_lockout(app)
    init_sessions(app)
