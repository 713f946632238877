"""Flask-Security wiring: the user datastore and our forms."""

from __future__ import annotations

from flask import Flask, has_request_context
from flask_security import SQLAlchemyUserDatastore, naive_utcnow

from app.accounts.forms import ConfirmRequestForm, RegisterForm, ResetRequestForm
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
        return super().create_user(**kwargs)


user_datastore = UserDatastore(db, User, Role)


def init_security(app: Flask) -> None:
    from app.accounts.lockout import init_lockout
    from app.accounts.ratelimits import init_rate_limits
    from app.accounts.sessions import init_sessions

    security.init_app(
        app,
        user_datastore,
        register_form=RegisterForm,
        forgot_password_form=ResetRequestForm,
        send_confirmation_form=ConfirmRequestForm,
    )
    init_rate_limits(app)
    init_lockout(app)
    init_sessions(app)
