"""Flask-Security's texts that people read most, as sched's own strings.

Flask-Security translates its messages and form labels from its own catalog, which sched's
translators cannot edit. These are given to it instead (``SECURITY_MSG_*`` settings, and the
labels our form subclasses set), so they are extracted into sched's catalog, translated with
the rest and editable in the translation console. Flask-Security still looks each one up in
its catalog first, by the text of our translation; that finds nothing, and our text is shown.
"""

from __future__ import annotations

from flask import Flask

from app.core.gettext import lazy_gettext as _l

# SECURITY_MSG_<key>: (text, flash category), as Flask-Security's defaults are written.
MESSAGES = {
    "GENERIC_AUTHN_FAILED": (
        _l("Authentication failed: the e-mail address or the password is wrong."),
        "error",
    ),
    "CONFIRMATION_REQUIRED": (_l("Your e-mail address is not confirmed yet."), "error"),
    "LOGIN": (_l("Please log in to see this page."), "info"),
    "UNAUTHENTICATED": (_l("Please log in to see this page."), "error"),
    "REFRESH": (_l("Please enter your password again to see this page."), "info"),
    "REAUTHENTICATION_SUCCESSFUL": (_l("Thank you, that was your password."), "info"),
    "CONFIRM_REGISTRATION": (
        _l(
            "Thank you. To confirm your email address %(email)s, please click on the link in "
            "the email we have just sent to you."
        ),
        "success",
    ),
    "CONFIRMATION_REQUEST": (
        _l("Confirmation instructions have been sent to %(email)s."),
        "info",
    ),
    "EMAIL_CONFIRMED": (_l("Thank you. Your email has been confirmed."), "success"),
    "ALREADY_CONFIRMED": (_l("Your email has already been confirmed."), "info"),
    "INVALID_CONFIRMATION_TOKEN": (
        _l("This confirmation link is not valid. Ask for a new one."),
        "error",
    ),
    "PASSWORD_RESET_REQUEST": (
        _l("Instructions to reset your password have been sent to %(email)s."),
        "info",
    ),
    "INVALID_RESET_PASSWORD_TOKEN": (
        _l("This password reset link is not valid. Ask for a new one."),
        "error",
    ),
    "PASSWORD_RESET": (
        _l("Your password has been reset, and you are logged in."),
        "success",
    ),
    "PASSWORD_CHANGE": (_l("Your password has been changed."), "success"),
    "INVALID_PASSWORD": (_l("Invalid password"), "error"),
    "PASSWORD_NOT_PROVIDED": (_l("Enter your password."), "error"),
    "PASSWORD_INVALID_LENGTH": (
        _l("Password must be at least %(length)s characters"),
        "error",
    ),
    "RETYPE_PASSWORD_MISMATCH": (_l("Passwords do not match"), "error"),
    "EMAIL_NOT_PROVIDED": (_l("Email not provided"), "error"),
    "INVALID_EMAIL_ADDRESS": (_l("Invalid email address"), "error"),
    "FORGOT_PASSWORD": (_l("Forgot your password?"), "info"),
}

# The labels of the fields and buttons of Flask-Security's forms, by field name; the submit
# buttons' differ from form to form (each form class says its own).
FIELD_LABELS = {
    "email": _l("E-mail address"),
    "password": _l("Password"),
    "password_confirm": _l("Retype the password"),
    "new_password": _l("New password"),
    "new_password_confirm": _l("Retype the new password"),
    "remember": _l("Remember me"),
}


def use_sched_messages(app: Flask) -> None:
    """Give Flask-Security sched's texts, unless the settings name others; call before
    ``security.init_app``."""
    for key, message in MESSAGES.items():
        app.config.setdefault(f"SECURITY_MSG_{key}", message)
